"""SAE encode and top activations side by side: interp-skills vs sae-lens (PyPI), on one SAE and one activation set.

``ours`` (project venv) trains the SAE that ``train_sae`` gives at its defaults (TopK, layer 12
block output of SmolLM2, 2304 latents, k=32, on the entities train split; untimed), writes it in
sae-lens's on-disk format (``cfg.json`` + ``sae_weights.safetensors``, by our own writer) and the
residual activations of every token but the first of the entities test prompts (``acts.pt``, as
``top_activations`` reads them). Then each side, in its own venv, encodes the same ``acts.pt``
with its own SAE code (sae-lens: ``SAE.load_from_disk`` of that folder):
  * encode: all tokens at once, as each library is usually called, and sae-lens also under
    ``torch.inference_mode`` (its parameters require grad, ours do not);
  * top activations: encode, then the ``TOP_TOKENS`` strongest tokens of every latent.
Writes ``<side>.json`` (times) and ``<side>-latents.pt`` (``[tokens, n_latents]``).

Run by ``run_peers.py``; alone: ``python benchmarks/peers/sae.py --side ours --work DIR``
(``ours`` first: it writes the SAE and the activations the other side reads).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from peerlib import THREADS, median, read_inputs, repeat, side_arguments, timed, write_result

SIDES = ["ours", "sae-lens"]
SAE_FOLDER = "sae-lens-format"
HOOKS = {"block_input": "hook_resid_pre", "block_output": "hook_resid_post"}


def write_sae_lens_folder(sae: Any, meta: dict[str, Any], folder: Path) -> None:
    """Our TopK SAE as sae-lens 6 reads it from disk: the config fields of ``TopKSAEConfig`` and its four weights."""
    from safetensors.torch import save_file

    if sae.cfg.activation != "topk":
        raise ValueError(f"this writer handles TopK SAEs only, not {sae.cfg.activation}")
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architecture": "topk", "d_in": sae.cfg.d_in, "d_sae": sae.cfg.n_latents, "k": sae.cfg.k,
        "dtype": "float32", "device": "cpu", "apply_b_dec_to_input": sae.cfg.subtract_decoder_bias,
        "normalize_activations": "none", "reshape_activations": "none", "rescale_acts_by_decoder_norm": False,
        "metadata": {"hook_name": f"blocks.{meta['layer']}.{HOOKS[meta['site']]}", "model_name": meta["model"],
                     "sae_lens_version": "6.0.0"},
    }
    (folder / "cfg.json").write_text(json.dumps(config, indent=1))
    weights = {name: getattr(sae, name).detach().float().contiguous() for name in ("W_enc", "b_enc", "W_dec", "b_dec")}
    save_file(weights, str(folder / "sae_weights.safetensors"))


def run_arms(arms: dict[str, Callable[[], Any]], repeats: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Each arm in turn: one untimed warm-up, then ``repeats`` timed calls (``peerlib.repeat``)."""
    done = {name: repeat(fn, repeats) for name, fn in arms.items()}
    return {name: runs for name, (runs, _) in done.items()}, {name: value for name, (_, value) in done.items()}


def top_tokens(latents: Any, count: int) -> Any:
    """The ``count`` strongest token rows of every latent, ``[count, n_latents]`` (values and indices)."""
    return latents.topk(count, dim=0)


def ours(work: Path, spec: dict[str, Any], repeats: int) -> dict[str, Any]:
    import tempfile
    import time

    import torch
    from interp_skills_sae_latent_search import activations, entities, recipe
    from interp_skills_sae_latent_search.sae import load_sae
    from interp_skills_sae_latent_search.training import TrainSettings

    from interp_skills.runtime import ArtifactStore, load_model

    torch.set_num_threads(THREADS)
    lm = load_model()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        store = ArtifactStore(folder)
        sae_id, _, _ = recipe.recipe_sae(lm, store, None, TrainSettings(), spec["train_tokens"])
        sae, meta, _ = load_sae(store, sae_id)
    train_s = time.perf_counter() - started
    write_sae_lens_folder(sae, meta, work / SAE_FOLDER)
    prompts = entities.all_filled("test")
    tokens = activations.every_token(lm, prompts, meta["layer"], meta["site"])
    torch.save(tokens.acts, work / "acts.pt")
    acts = torch.load(work / "acts.pt")  # the very tensor the other side reads
    count = spec["top_tokens"]

    def encode_and_rank() -> Any:
        return top_tokens(sae.encode(acts), count)

    arms = {"ours: SparseAutoencoder.encode": lambda: sae.encode(acts),
            f"ours: encode + top {count} tokens of every latent": encode_and_rank}
    times, values = run_arms(arms, repeats)
    torch.save(values["ours: SparseAutoencoder.encode"], work / "ours-latents.pt")
    return {"times_s": times, "latents": "ours-latents.pt", "train_s": round(train_s, 1), "layer": meta["layer"],
            "site": meta["site"], "quality": meta["quality"], "n_prompts": len(prompts), "n_tokens": len(acts),
            "config": {"n_latents": sae.cfg.n_latents, "k": sae.cfg.k, "d_in": sae.cfg.d_in},
            "torch_threads": torch.get_num_threads()}


def sae_lens(work: Path, spec: dict[str, Any], repeats: int) -> dict[str, Any]:
    from importlib.metadata import version

    import torch
    from sae_lens import SAE

    torch.set_num_threads(THREADS)
    load_s, sae = timed(lambda: SAE.load_from_disk(work / SAE_FOLDER, device="cpu"))
    acts = torch.load(work / "acts.pt")
    count = spec["top_tokens"]

    def inference(fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with torch.inference_mode():
                return fn()

        return run

    arms = {
        f"sae-lens: {type(sae).__name__}.encode (as usually called, autograd on)": lambda: sae.encode(acts),
        f"sae-lens: {type(sae).__name__}.encode under torch.inference_mode": inference(lambda: sae.encode(acts)),
        f"sae-lens: encode + top {count} tokens of every latent, under torch.inference_mode":
            inference(lambda: top_tokens(sae.encode(acts), count)),
    }
    times, values = run_arms(arms, repeats)
    torch.save(next(iter(values.values())).detach(), work / "sae-lens-latents.pt")
    return {"times_s": times, "latents": "sae-lens-latents.pt", "load_s": round(load_s, 3),
            "sae_class": type(sae).__name__, "torch_threads": torch.get_num_threads(), "version": version("sae-lens")}


def main() -> None:
    args = side_arguments(SIDES)
    spec = read_inputs(args.work)["sae"]
    run = {"ours": ours, "sae-lens": sae_lens}[args.side]
    result = run(args.work, spec, args.repeats * spec["encode_calls_per_repeat"])
    result["median_s"] = {name: median(runs) for name, runs in result["times_s"].items()}
    write_result(args.work, args.side, result)


if __name__ == "__main__":
    main()
    print(json.dumps({"done": True}))
