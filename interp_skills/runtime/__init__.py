"""The runtime's public face for plugins: everything a technique, pack or task may import from here.

Loading (``load_model``, ``LoadedModel``: model, tokenizer, ``format_chat`` for the chat-formatted
prompt string), prompts to inputs (``encode``, ``batched``), reading and writing the residual
stream (``capture_activations``, ``hook_site``, ``add_vector``, ``ablate_direction``), the model's
head (``final_norm``, ``unembedding``, ``logits_from_residual``: a logit lens), generation, weight
edits, text metrics and artifacts (``ArtifactStore``; a session's ``artifacts``). Import from
``interp_skills.runtime``, not its modules: they may move.

Names are re-exported lazily, so importing the package (or ``runtime.errors``) does not
pull in torch and transformers until a name that needs them is used.
"""

from __future__ import annotations

from interp_skills.lazy import lazy_exports

_EXPORTS = {
    "batched": "batching",
    "encode": "batching",
    "capture_activations": "capture",
    "model_text": "chat",
    "render_conversation": "chat",
    "ArtifactNotFoundError": "errors",
    "InterpRuntimeError": "errors",
    "ModelNotFoundError": "errors",
    "UnsupportedModelError": "errors",
    "generate": "generation",
    "next_token_logprobs": "generation",
    "ablate_direction": "interventions",
    "add_vector": "interventions",
    "attention_module": "layers",
    "decoder_layers": "layers",
    "mlp_module": "layers",
    "final_norm": "lens",
    "logits_from_residual": "lens",
    "unembedding": "lens",
    "LoadedModel": "loaded",
    "wrap_model": "loaded",
    "distinct_word_ratio": "metrics",
    "lexicon_score": "metrics",
    "DEFAULT_MODEL": "models",
    "canonical_spec": "models",
    "load_model": "models",
    "unload_models": "models",
    "ResidualHook": "sites",
    "hook_site": "sites",
    "resolve_layer": "sites",
    "ArtifactStore": "store",
    "orthogonalize_weights": "weights",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
