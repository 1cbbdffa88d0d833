"""What every side of a peer comparison shares: arguments, timing, the model loader, the result file.

A comparison script runs once per side (``ours`` in the project's venv, each peer in its own
venv under ``/tmp/peer-venvs``), so this module imports only the standard library at the top;
torch and transformers are imported inside ``load_hf``, in whichever venv runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
THREADS = 1  # every side runs torch on one thread: the machine is shared, and it keeps sides comparable


def side_arguments(sides: list[str]) -> argparse.Namespace:
    """``--side`` (the implementation run here), ``--work`` (folder of inputs and outputs), ``--repeats``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=sides, required=True)
    parser.add_argument("--work", type=Path, required=True, help="folder with inputs.json; outputs are written here")
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args()


def read_inputs(work: Path) -> dict[str, Any]:
    return json.loads((work / "inputs.json").read_text())


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall-clock seconds of one call and its value."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def repeat(fn: Callable[[], T], repeats: int) -> tuple[list[float], T]:
    """One untimed warm-up call, then ``repeats`` timed calls; the seconds of each and the last value."""
    value = fn()
    runs = []
    for _ in range(repeats):
        seconds, value = timed(fn)
        runs.append(round(seconds, 4))
    return runs, value


def median(runs: list[float]) -> float:
    return statistics.median(runs)


def write_result(work: Path, side: str, result: dict[str, Any]) -> None:
    """``<work>/<side>.json``: timings and small outputs (tensors go beside it as ``<side>-*.pt``)."""
    result = {"side": side, "loadavg_end": [round(x, 2) for x in os.getloadavg()], **result}
    (work / f"{side}.json").write_text(json.dumps(result, indent=1))


def load_hf(model_dir: str) -> tuple[Any, Any]:
    """The model and tokenizer saved at ``model_dir`` (float32, eval mode, left padding), in this venv's transformers.

    The folder was written by transformers 5. Under transformers 4 two of its entries need
    translating: the tokenizer class ``TokenizersBackend`` (loaded as ``PreTrainedTokenizerFast``
    from the same ``tokenizer.json``) and ``rope_parameters`` (passed as ``rope_theta``; 4.x would
    otherwise fall back to its default theta and compute a different model).
    """
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

    torch.set_num_threads(THREADS)
    folder = Path(model_dir)
    config = json.loads((folder / "config.json").read_text())
    if int(transformers.__version__.split(".")[0]) >= 5:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(folder)
    else:
        extra = {"rope_theta": config["rope_parameters"]["rope_theta"]} if "rope_parameters" in config else {}
        model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, **extra)
        special = json.loads((folder / "tokenizer_config.json").read_text())
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_file=str(folder / "tokenizer.json"),
            **{k: special[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token") if k in special},
        )
    tokenizer.padding_side = "left"
    model.eval()
    return model, tokenizer
