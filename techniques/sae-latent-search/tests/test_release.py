"""Published SAEs through the optional sae-lens package: the error without it, the conversion with it.

The conversion test runs only where sae-lens is importable (it was checked against sae-lens
6.54.12 with transformer-lens 3.9.0); it builds SAEs locally, so it needs no network.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch
from interp_skills_sae_latent_search import tools

from interp_skills.errors import ToolInputError
from interp_skills.spec import Session

HAS_SAE_LENS = importlib.util.find_spec("sae_lens") is not None


@pytest.mark.skipif(HAS_SAE_LENS, reason="sae-lens is installed here")
def test_a_release_without_sae_lens_names_the_fix() -> None:
    with pytest.raises(ToolInputError, match="pip install sae-lens"):
        tools.load_sae_release(Session({"target": "tiny-llama"}), "gemma-scope-2b-pt-res-canonical",
                               "layer_12/width_16k/canonical")


@pytest.mark.skipif(not HAS_SAE_LENS, reason="needs the optional sae-lens package")
@pytest.mark.parametrize("architecture", ["standard", "jumprelu", "topk", "topk-rescaled"])
def test_sae_lens_saes_convert_to_the_same_function(architecture: str) -> None:
    from interp_skills_sae_latent_search.release import convert
    from sae_lens import JumpReLUSAE, JumpReLUSAEConfig, StandardSAE, StandardSAEConfig, TopKSAE, TopKSAEConfig
    from sae_lens.saes.sae import SAEMetadata

    classes = {"standard": (StandardSAE, StandardSAEConfig, {}), "jumprelu": (JumpReLUSAE, JumpReLUSAEConfig, {}),
               "topk": (TopKSAE, TopKSAEConfig, {"k": 4}),
               "topk-rescaled": (TopKSAE, TopKSAEConfig, {"k": 4, "rescale_acts_by_decoder_norm": True})}
    sae_class, config_class, extra = classes[architecture]
    torch.manual_seed(0)
    theirs = sae_class(config_class(d_in=16, d_sae=40, metadata=SAEMetadata(hook_name="blocks.5.hook_resid_pre",
                                                                            model_name="toy"), **extra))
    with torch.no_grad():
        for parameter in theirs.parameters():
            parameter.copy_(torch.randn_like(parameter) / 2)
        if architecture == "jumprelu":
            theirs.threshold.copy_(torch.rand(40))
    x = 3 * torch.randn(50, 16)
    expected, fired = theirs.decode(theirs.encode(x)).detach(), (theirs.encode(x) > 0).detach()
    ours, where = convert(theirs)
    assert where == {"layer": 5, "site": "block_input", "release_model": "toy"}
    assert torch.allclose(ours(x), expected, atol=1e-4)
    assert torch.equal(ours.encode(x) > 0, fired)
