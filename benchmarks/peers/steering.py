"""Steering side by side: interp-skills vs steering-vectors (PyPI) vs repeng (PyPI).

Each side, in its own venv, on the same model folder, prompts and thread count:
  * build: the contrastive vector from the same positive/negative pairs at layer LAYER's output
    (decoder block output), read at each prompt's last token, each library as usually called;
  * steer: greedy generation of the same chat prompts, exactly NEW_TOKENS per row, with OUR vector
    (``ours-vector.pt``) times COEFFICIENT added at every position of LAYER, through each
    library's own steering mechanism, plus the same generation unsteered.
Writes ``<side>.json`` (times, texts, the prompt token ids) and ``<side>-vector*.pt``.

Run by ``run_peers.py``; alone: ``python benchmarks/peers/steering.py --side ours --work DIR``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from peerlib import load_hf, read_inputs, repeat, side_arguments, write_result

SIDES = ["ours", "steering-vectors", "repeng"]


def chat_batch(tokenizer: Any, model_dir: str, prompts: list[str]) -> Any:
    """The chat prompts as one left-padded batch, formatted by the saved chat template."""
    if not tokenizer.chat_template:
        tokenizer.chat_template = (Path(model_dir) / "chat_template.jinja").read_text()
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                           add_generation_prompt=True) for p in prompts]
    return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False,
                     return_token_type_ids=False)


def hf_generate(model: Any, tokenizer: Any, batch: Any, new_tokens: int) -> list[str]:
    import torch

    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
    return [t.strip() for t in tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)]


def ours(work: Path, spec: dict[str, Any], repeats: int) -> dict[str, Any]:
    import tempfile

    import torch
    from interp_skills_steering_vectors import vectors

    from interp_skills.runtime import ArtifactStore, add_vector, capture_activations, encode, generate, load_model

    torch.set_num_threads(1)
    lm = load_model()
    layer, pos, neg = spec["layer"], spec["positive"], spec["negative"]

    def mean_difference() -> torch.Tensor:
        a = capture_activations(lm, pos, [layer], [-1], site="block_output")[:, 0, 0]
        b = capture_activations(lm, neg, [layer], [-1], site="block_output")[:, 0, 0]
        return a.mean(0) - b.mean(0)

    with tempfile.TemporaryDirectory() as folder:
        store = ArtifactStore(folder)
        build_runs, (_, sv) = repeat(lambda: vectors.build(lm, store, pos, neg, layer), repeats)
    core_runs, vector = repeat(mean_difference, repeats)
    torch.save(vector, work / "ours-vector.pt")
    torch.save(sv.vector, work / "ours-vector-technique.pt")
    lm.model.generation_config.min_new_tokens = spec["new_tokens"]  # every row decodes exactly new_tokens

    def plain() -> list[str]:
        return generate(lm, spec["prompts"], max_new_tokens=spec["new_tokens"])

    def steered() -> list[str]:
        with add_vector(lm, vector, [layer], spec["coefficient"]):
            return generate(lm, spec["prompts"], max_new_tokens=spec["new_tokens"])

    plain_runs, plain_texts = repeat(plain, repeats)
    steer_runs, steer_texts = repeat(steered, repeats)
    ids = encode(lm, spec["prompts"], chat=True)["input_ids"].tolist()
    return {
        "build_s": {"ours: vectors.build (technique: vector + concept-score calibration)": build_runs,
                    "ours: mean difference (2 capture_activations calls)": core_runs},
        "steer_s": {"ours: add_vector + generate": steer_runs},
        "unsteered_s": plain_runs, "steered_texts": steer_texts, "unsteered_texts": plain_texts,
        "prompt_ids": ids, "vectors": {"ours": "ours-vector.pt"},
    }


def steering_vectors(work: Path, spec: dict[str, Any], repeats: int) -> dict[str, Any]:
    import steering_vectors as sv_lib
    import torch

    model, tokenizer = load_hf(spec["model_dir"])
    pairs = list(zip(spec["positive"], spec["negative"]))
    layer = spec["layer"]

    def train(batch_size: int) -> torch.Tensor:
        trained = sv_lib.train_steering_vector(model, tokenizer, pairs, layers=[layer], read_token_index=-1,
                                               batch_size=batch_size)
        return trained.layer_activations[layer].detach().float().cpu()

    default_runs, vector = repeat(lambda: train(1), repeats)
    batched_runs, vector_batched = repeat(lambda: train(len(pairs)), repeats)
    torch.save(vector, work / "steering-vectors-vector.pt")
    torch.save(vector_batched, work / "steering-vectors-vector-batched.pt")
    ours_vector = torch.load(work / "ours-vector.pt")
    steer_vector = sv_lib.SteeringVector({layer: ours_vector}, "decoder_block")
    batch = chat_batch(tokenizer, spec["model_dir"], spec["prompts"])

    def steered() -> list[str]:
        with steer_vector.apply(model, multiplier=spec["coefficient"]):
            return hf_generate(model, tokenizer, batch, spec["new_tokens"])

    plain_runs, plain_texts = repeat(lambda: hf_generate(model, tokenizer, batch, spec["new_tokens"]), repeats)
    steer_runs, steer_texts = repeat(steered, repeats)
    return {
        "build_s": {"steering-vectors: train_steering_vector (default batch_size=1)": default_runs,
                    f"steering-vectors: train_steering_vector (batch_size={len(pairs)})": batched_runs},
        "steer_s": {"steering-vectors: SteeringVector.apply + generate": steer_runs},
        "unsteered_s": plain_runs, "steered_texts": steer_texts, "unsteered_texts": plain_texts,
        "prompt_ids": batch["input_ids"].tolist(),
        "vectors": {"steering-vectors": "steering-vectors-vector.pt",
                    "steering-vectors (batched)": "steering-vectors-vector-batched.pt"},
        "version": sv_lib.__version__,
    }


def repeng(work: Path, spec: dict[str, Any], repeats: int) -> dict[str, Any]:
    from importlib.metadata import version

    import torch
    from repeng import ControlModel, ControlVector, DatasetEntry

    model, tokenizer = load_hf(spec["model_dir"])
    dataset = [DatasetEntry(positive=p, negative=n) for p, n in zip(spec["positive"], spec["negative"])]
    layer = spec["layer"]

    def train() -> torch.Tensor:
        trained = ControlVector.train(model, tokenizer, dataset, hidden_layers=[layer])  # default method pca_diff
        return torch.from_numpy(trained.directions[layer]).float()

    build_runs, vector = repeat(train, repeats)
    torch.save(vector, work / "repeng-vector.pt")
    batch = chat_batch(tokenizer, spec["model_dir"], spec["prompts"])
    plain_runs, plain_texts = repeat(lambda: hf_generate(model, tokenizer, batch, spec["new_tokens"]), repeats)
    ours_vector = torch.load(work / "ours-vector.pt")
    controlled = ControlModel(model, [layer])
    controlled.set_raw_control({layer: spec["coefficient"] * ours_vector})
    steer_runs, steer_texts = repeat(lambda: hf_generate(controlled, tokenizer, batch, spec["new_tokens"]), repeats)
    controlled.unwrap()
    return {
        "build_s": {"repeng: ControlVector.train (default pca_diff)": build_runs},
        "steer_s": {"repeng: ControlModel.set_raw_control + generate": steer_runs},
        "unsteered_s": plain_runs, "steered_texts": steer_texts, "unsteered_texts": plain_texts,
        "prompt_ids": batch["input_ids"].tolist(), "vectors": {"repeng": "repeng-vector.pt"},
        "version": version("repeng"),
    }


def main() -> None:
    args = side_arguments(SIDES)
    spec = read_inputs(args.work)["steering"]
    run = {"ours": ours, "steering-vectors": steering_vectors, "repeng": repeng}[args.side]
    write_result(args.work, args.side, run(args.work, spec, args.repeats))


if __name__ == "__main__":
    main()
    print(json.dumps({"done": True}))
