"""The prompt an agent gets for a task: the brief, how to reach the techniques, the plan, checkpoints, results."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from interp_skills.runs.layout import METRICS_FILE, REPORT_FILE
from interp_skills.spec import Mount, Task

if TYPE_CHECKING:
    from interp_skills.agents.outcome import Tally
    from interp_skills.agents.transcript import Transcript
    from interp_skills.spec import Asker

CHECKPOINT_MARK = "CHECKPOINT"
_CHECKPOINT_LINE = re.compile(rf"^\s*{CHECKPOINT_MARK}\s+([a-z0-9_-]+)\s*$", re.MULTILINE)
_COUNTS = {1: "one file", 2: "two files", 3: "three files"}


def checkpoint_stage(text: str) -> str | None:
    """The stage named on a ``CHECKPOINT <stage>`` line of an agent's message, if there is one."""
    found = _CHECKPOINT_LINE.search(text or "")
    return found.group(1) if found else None


def ask_at_checkpoint(said: str, checkpoint: str, ask: "Asker | None", tally: "Tally",
                      transcript: "Transcript") -> str | None:
    """The person's reply if the agent just reached a new ``CHECKPOINT`` stage and we ask at checkpoints."""
    stage = checkpoint_stage(said)
    if checkpoint != "ask" or ask is None or not stage or stage in tally.checkpoints:
        return None
    tally.checkpoints.append(stage)
    transcript.harness("checkpoint", stage=stage, summary=said)
    reply = ask(stage, said).strip() or "Carry on as you planned."
    transcript.harness("person", text=reply)
    return reply


def metric_lines(task: Task) -> list[str]:
    """One line per number the rater reads from metrics.json (the claims' dotted paths)."""
    seen: dict[str, str] = {}
    for claim in task.claims:
        seen.setdefault(claim.metric, claim.description)
    return [f"  - `{path}`: {description}" for path, description in seen.items()]


def _done_file(task: Task, name: str) -> str:
    if name == METRICS_FILE:
        if not task.claims:
            return f"- `{METRICS_FILE}`: the numbers you measured, as a JSON object."
        return (f"- `{METRICS_FILE}`: the numbers you measured. The rater reads them at these dotted paths (a dot is "
                "a nested object, an integer is a list index):\n" + "\n".join(metric_lines(task)))
    if name == REPORT_FILE:
        return (f"- `{REPORT_FILE}`: what you did (tools, parameters, model), the numbers and what they show, and "
                "what did not work.")
    return f"- `{name}`"


def build_prompt(task: Task, mount: Mount, workspace: Path, checkpoint: str) -> str:
    """The full prompt: ``task.brief()``, how to run the techniques, ``task.plan()``, checkpoints, results."""
    parts = [*task.brief(), "## How to run the techniques",
             " ".join(p for p in (mount.how_to_use, mount.model_note) if p), *task.plan(checkpoint)]
    paused = task.paused
    if checkpoint == "ask" and paused:
        parts += ["## Checkpoints",
                  "After each step marked [checkpoint], stop and end your turn with a message whose first line is "
                  f"exactly `{CHECKPOINT_MARK} <step name>` (e.g. `{CHECKPOINT_MARK} {paused[0]}`), then "
                  "what you found and what you will do next. A person will answer; then carry on."]
    count = _COUNTS.get(len(task.done_files), f"{len(task.done_files)} files")
    honesty = "Report only numbers that a tool returned in this session."
    if {METRICS_FILE, REPORT_FILE} <= set(task.done_files):
        honesty += (f" If you could not measure something, leave it out of {METRICS_FILE} and say so in "
                    f"{REPORT_FILE}.")
    parts += ["## Results",
              f"When the experiment is done, write {count} in the working folder `{workspace}` and then stop:\n"
              + "\n".join(_done_file(task, name) for name in task.done_files) + "\n" + honesty]
    return "\n\n".join(parts) + "\n"
