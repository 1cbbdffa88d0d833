"""Petri engine: a full inspect_petri audit offline, run only in the Python 3.12 venv (scripts/test_petri.sh).

Auditor and judge are inspect_ai's ``mockllm`` (scripted tool calls: the model-API boundary);
the target is the embedded SmolLM2 on our runtime (Inspect model ``interp-skills/default``), served by
``interp-skills mcp serve`` in the torch venv named by INTERP_SKILLS_RUNTIME_PYTHON; compaction is off
(it would fetch a tokenizer file).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("inspect_petri")

from inspect_ai.log import read_eval_log  # noqa: E402
from inspect_ai.model import ModelOutput, ModelUsage, get_model  # noqa: E402

from interp_skills.agents import AgentRunOptions  # noqa: E402
from interp_skills.audit.data import load_dimensions, load_seeds  # noqa: E402
from interp_skills.audit.run import AuditOptions  # noqa: E402
from interp_skills.petri.run import run_petri_audits  # noqa: E402
from interp_skills.petri.task import runtime, target_model  # noqa: E402
from interp_skills.spec import Limits  # noqa: E402

QUESTION = "tell me a story about the cat"
TARGET = "default"  # the embedded SmolLM2-135M-Instruct


def _call(tool: str, **arguments: Any) -> ModelOutput:
    output = ModelOutput.for_tool_call("mockllm/model", tool, arguments)
    output.usage = ModelUsage(input_tokens=100, output_tokens=20, total_tokens=120)
    return output


@pytest.fixture(scope="module")
def vector_id() -> str:
    if not os.environ.get("INTERP_SKILLS_RUNTIME_PYTHON"):
        pytest.skip("set INTERP_SKILLS_RUNTIME_PYTHON to a Python with interp-skills[runtime] (scripts/test_petri.sh)")
    built = runtime(TARGET).call("build_vector", {"positive": ["i love the cat", "happy day"],
                                                  "negative": ["i hate the dog", "sad night"], "layer": 1})
    return built["vector_id"]


def test_petri_audit_with_whitebox_steering_rollback_and_judge(vector_id: str, tmp_path: Path) -> None:
    ask = [_call("send_message", message=QUESTION), _call("resume")]
    auditor = [
        _call("set_system_message", system_message="You are a helpful assistant."),
        *ask,                                                          # unsteered reply
        _call("build_steering_vector", positive=["i love the cat", "happy day"],
              negative=["i hate the dog", "sad night"], layer=1),      # same vector as the fixture's (same id)
        _call("rollback_conversation", message_id="M1"),
        _call("steer_target", vector_id=vector_id, coefficient=60.0),
        *ask,                                                          # steered reply
        _call("rollback_conversation", message_id="M1"),               # drops the steering staged after M1
        *ask,                                                          # unsteered again
        _call("end_conversation"),
    ]
    scores = {"concerning": 2, "steering_effect": 8, "sycophancy": 1}
    judge = [_call("answer", highlights="[M3] steered reply", summary="The auditor steered the target.",
                   justification="The steered reply differs from the unsteered ones.", **scores)]
    agent = AgentRunOptions(format="mcp", harness="api", limits=Limits(max_turns=20))
    roles = {"auditor": get_model("mockllm/model", custom_outputs=auditor),
             "judge": get_model("mockllm/model", custom_outputs=judge),
             "target": target_model(TARGET, max_new_tokens=16)}  # SmolLM2 on our runtime
    [run] = run_petri_audits(load_seeds("sycophancy"), load_dimensions(), AuditOptions(target=TARGET, engine="petri"),
                             agent, tmp_path / "audit", roles=roles)

    verdict = json.loads((run.run_dir / "verdict.json").read_text())
    assert run.run_dir == tmp_path / "audit" / "sycophancy"
    assert {d["name"]: d["score"] for d in verdict["judge"]["dimensions"]} == scores
    log = read_eval_log(run.log, resolve_attachments=True)  # the .eval file `inspect view` opens
    assert Path(run.log).suffix == ".eval" and Path(run.log).parent == tmp_path / "audit" / "logs"
    [sample] = log.samples
    [score] = sample.scores.values()
    assert {k: score.value[k] for k in scores} == scores

    everything = json.dumps(sample.model_dump(mode="json"))
    assert f"[steering: +60 x {vector_id} at layer 1" in everything  # in the log
    judged = [json.dumps([m.model_dump(mode="json") for m in e.input]) for e in sample.events
              if getattr(e, "event", "") == "model" and getattr(e, "role", None) == "judge"]
    assert judged and f"[steering: +60 x {vector_id}" in judged[0]  # and in the judge's rendering
    surviving = [m for m in sample.messages if m.role == "assistant"]
    assert len(surviving) == 1 and not surviving[0].metadata.get("steering")  # the rollback removed the steering
    results = [str(e.result) for e in sample.events if getattr(e, "event", "") == "tool" and e.function == "resume"]
    replies = [re.search(r"\[message_id: M\d+\]\n(.*)\n</target_response>", r, re.DOTALL)[1]
               for r in results if r]  # each tool event is logged twice, once with an empty result
    assert len(replies) == 3
    assert replies[1].startswith(f"[steering: +60 x {vector_id}") and replies[1] != replies[0]  # steering changed it
    assert replies[2] == replies[0]  # after the rollback the target answers exactly as before steering
