"""Activation capture side by side: interp-skills vs TransformerLens 4 (PyPI) vs a bare batched forward pass.

Each side, in its own venv, on the same model folder, prompts and thread count, reads the residual
stream entering decoder blocks LAYERS (``block_input`` = TransformerLens ``blocks.L.hook_resid_pre`` =
Hugging Face ``hidden_states[L]``) at each prompt's last token:
  * ours: ``capture_activations(lm, prompts, layers, [-1])`` at its defaults (prompts batched by length,
    left padding, stopped after the deepest layer), interleaved in the same process with
  * bare: the same Hugging Face model called directly under ``torch.inference_mode``: as usually written
    (one padded batch of 32, ``output_hidden_states=True``), with ``use_cache=False, logits_to_keep=1``,
    and the fastest we could write (the decoder cut to the blocks below the deepest layer, no final norm,
    no LM head), in length-sorted batches of 16 and in the very batches ours makes (recorded by a forward
    pre-hook): the limit for any capture;
  * transformer-lens: ``TransformerBridge.boot_transformers(<model folder>)``, then ``run_with_cache``:
    as usually written (the prompt strings; TransformerLens prepends BOS, caches every hook and
    computes all logits) and with matched options (no BOS, ``names_filter`` of the 4 hooks,
    ``stop_at_layer``, ``torch.inference_mode``), in one batch of 32 and in the batches ours makes.
Writes ``<side>.json`` (times, token ids of each arm) and ``<side>-<arm>.pt`` (``[prompts, layers, d_model]``).

Run by ``run_peers.py``; alone: ``python benchmarks/peers/capture.py --side ours --work DIR``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from peerlib import THREADS, median, read_inputs, side_arguments, timed, write_result

SIDES = ["ours", "transformer-lens"]


def sorted_chunks(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Prompt indices sorted by token count, in consecutive chunks of ``batch_size``."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def interleaved(arms: dict[str, Callable[[], Any]], repeats: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """One untimed warm-up of every arm, then ``repeats`` rounds that time each arm once, in turn."""
    values = {name: fn() for name, fn in arms.items()}
    times: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(repeats):
        for name, fn in arms.items():
            seconds, values[name] = timed(fn)
            times[name].append(round(seconds, 4))
    return times, values


def save_arms(work: Path, side: str, values: dict[str, Any]) -> dict[str, str]:
    import torch

    files = {}
    for number, (name, value) in enumerate(values.items()):
        files[name] = f"{side}-{number}.pt"
        torch.save(value.float().contiguous(), work / files[name])
    return files


@contextmanager
def cut_decoder(model: Any, blocks: int) -> Iterator[None]:
    """Run only the first ``blocks`` decoder blocks, no final norm: the last hidden state is that block's input."""
    import torch

    inner = model.model
    layers, norm = inner.layers, inner.norm
    inner.layers, inner.norm = layers[:blocks], torch.nn.Identity()
    try:
        yield
    finally:
        inner.layers, inner.norm = layers, norm


def batches_used(model: Any, ids: list[list[int]], call: Callable[[], Any]) -> list[list[int]]:
    """The prompt indices of every batch ``call`` feeds ``model``, read from its inputs by a forward pre-hook."""
    index = {tuple(row): i for i, row in enumerate(ids)}
    if len(index) != len(ids):
        raise ValueError("the prompts must tokenize to distinct rows to tell the batches apart")
    seen: list[list[int]] = []

    def record(_: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        rows, mask = kwargs["input_ids"], kwargs["attention_mask"].bool()
        seen.append([index[tuple(row[keep].tolist())] for row, keep in zip(rows, mask)])

    handle = model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        call()
    finally:
        handle.remove()
    return seen


def ours(work: Path, spec: dict[str, Any], repeats: int) -> dict[str, Any]:
    import torch

    from interp_skills.runtime import capture_activations, load_model

    torch.set_num_threads(THREADS)
    lm = load_model()
    model, tokenizer = lm.model, lm.tokenizer
    prompts, layers, batch_size = spec["prompts"], spec["layers"], spec["batch_size"]
    ids = tokenizer(prompts)["input_ids"]

    def capture() -> torch.Tensor:
        return capture_activations(lm, prompts, layers, [-1], batch_size=batch_size)[:, :, 0]

    our_batches = batches_used(model, ids, capture)
    (work / "batches.json").write_text(json.dumps(our_batches))  # the transformer-lens side runs them too

    def left_padded(texts: list[str]) -> dict[str, torch.Tensor]:
        batch = tokenizer(texts, return_tensors="pt", padding=True)  # the tokenizer pads on the left
        positions = (batch["attention_mask"].cumsum(dim=1) - 1).clamp(min=0)
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"], "position_ids": positions}

    def bare_one_batch(**options: Any) -> torch.Tensor:
        with torch.inference_mode():
            hidden = model(**left_padded(prompts), output_hidden_states=True, **options).hidden_states
        return torch.stack([hidden[layer][:, -1] for layer in layers], dim=1)

    def bare_cut(batches: list[list[int]]) -> torch.Tensor:
        result = torch.empty(len(prompts), len(layers), lm.d_model)
        with torch.inference_mode(), cut_decoder(model, max(layers)):
            for chunk in batches:
                hidden = model.model(**left_padded([prompts[i] for i in chunk]), use_cache=False,
                                     output_hidden_states=True).hidden_states
                result[chunk] = torch.stack([hidden[layer][:, -1] for layer in layers], dim=1)
        return result

    cut = f"decoder cut below layer {max(layers)}"
    arms = {
        "ours: capture_activations (defaults)": capture,
        "bare: model(output_hidden_states=True), one batch of 32": bare_one_batch,
        "bare: same + use_cache=False, logits_to_keep=1": lambda: bare_one_batch(use_cache=False, logits_to_keep=1),
        f"bare: length-sorted batches of {batch_size}, {cut}":
            lambda: bare_cut(sorted_chunks([len(row) for row in ids], batch_size)),
        f"bare: the batches capture_activations makes, {cut}": lambda: bare_cut(our_batches),
    }
    times, values = interleaved(arms, repeats)
    return {"times_s": times, "arrays": save_arms(work, "ours", values), "our_batches": our_batches,
            "token_ids": {name: ids for name in arms}, "torch_threads": torch.get_num_threads()}


def transformer_lens(work: Path, spec: dict[str, Any], repeats: int) -> dict[str, Any]:
    import time
    from importlib.metadata import version

    import torch
    from transformer_lens.model_bridge import TransformerBridge

    torch.set_num_threads(THREADS)
    prompts, layers = spec["prompts"], spec["layers"]
    started = time.perf_counter()
    bridge = TransformerBridge.boot_transformers(spec["model_dir"], device="cpu", dtype=torch.float32)
    boot_s = time.perf_counter() - started
    tokenizer = bridge.tokenizer
    names = [f"blocks.{layer}.hook_resid_pre" for layer in layers]
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]  # the tokens our runtime feeds the model
    our_batches = json.loads((work / "batches.json").read_text())
    pad = tokenizer.pad_token_id

    def right_padded(rows: list[list[int]]) -> torch.Tensor:
        width = max(len(row) for row in rows)
        return torch.tensor([row + [pad] * (width - len(row)) for row in rows])

    def last_tokens(cache: Any, lengths: list[int]) -> torch.Tensor:
        """Each row's last real token (right padding: pads come after it, so causal attention never sees them)."""
        rows, columns = torch.arange(len(lengths)), torch.tensor(lengths) - 1
        return torch.stack([cache[name][rows, columns] for name in names], dim=1)

    def usual() -> tuple[torch.Tensor, list[list[int]]]:
        tokens = bridge.to_tokens(prompts)  # as usually called: prepends BOS, pads on the right
        lengths = (tokens != pad).sum(dim=1).tolist()  # the pad id never occurs inside these prompts
        _, cache = bridge.run_with_cache(prompts)
        return last_tokens(cache, lengths), [row[:n] for row, n in zip(tokens.tolist(), lengths)]

    def matched(groups: list[list[int]]) -> torch.Tensor:
        result = torch.empty(len(prompts), len(layers), bridge.cfg.d_model)
        with torch.inference_mode():
            for group in groups:
                rows = [ids[i] for i in group]
                _, cache = bridge.run_with_cache(right_padded(rows), names_filter=names, stop_at_layer=max(layers) + 1)
                result[group] = last_tokens(cache, [len(row) for row in rows])
        return result

    arms: dict[str, Callable[[], Any]] = {
        "transformer-lens: run_with_cache(prompts) as usually written": usual,
        "transformer-lens: names_filter + stop_at_layer + inference_mode, no BOS, one batch of 32":
            lambda: matched([list(range(len(prompts)))]),
        "transformer-lens: the same in the batches capture_activations makes": lambda: matched(our_batches),
    }
    times, values = interleaved(arms, repeats)
    usual_name = next(iter(arms))
    values[usual_name], usual_ids = values[usual_name]
    return {"times_s": times, "arrays": save_arms(work, "transformer-lens", values),
            "token_ids": {name: usual_ids if name == usual_name else ids for name in arms},
            "boot_s": round(boot_s, 2), "torch_threads": torch.get_num_threads(),
            "version": version("transformer-lens")}


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model folder is local; never reach for the Hub
    args = side_arguments(SIDES)
    spec = read_inputs(args.work)["capture"]
    run = {"ours": ours, "transformer-lens": transformer_lens}[args.side]
    result = run(args.work, spec, args.repeats)
    result["median_s"] = {name: median(runs) for name, runs in result["times_s"].items()}
    write_result(args.work, args.side, result)


if __name__ == "__main__":
    main()
    print(json.dumps({"done": True}))
