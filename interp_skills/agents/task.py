"""The prompt an agent gets: the pack's task, how to reach the techniques, the plan, checkpoints, results."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from interp_skills.agents.workspace import MCP_SERVER, NOTEBOOK_FILE, NOTEBOOK_SERVER, SKILLS_DIR, Workspace

if TYPE_CHECKING:
    from interp_skills.agents.outcome import Asker, Tally
    from interp_skills.agents.transcript import Transcript
from interp_skills.spec import PaperPack

CHECKPOINT_MARK = "CHECKPOINT"
_CHECKPOINT_LINE = re.compile(rf"^\s*{CHECKPOINT_MARK}\s+([a-z0-9_-]+)\s*$", re.MULTILINE)


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


def how_to_use(ws: Workspace, agent: str) -> str:
    """The task's paragraph on reaching the techniques, for this format and agent."""
    names = ", ".join(f"`{n}`" for n in ws.technique_names)
    if ws.format == "skill":
        first = ws.skills[0]
        if agent == "claude-code":
            return (f"Use the skill `{first}` for this" + (f" (also available: {names})" if len(ws.skills) > 1 else "")
                    + f": call the Skill tool with `{first}` first to load it, then run its scripts with Bash "
                    "exactly as the skill explains.")
        return (f"Use the skill(s) {names}: read `{SKILLS_DIR}/<name>/SKILL.md` with read_file first, then run "
                "the skill's scripts with run_script as it explains.")
    if ws.format == "mcp":
        prefix = f"`mcp__{MCP_SERVER}__<tool>`" if agent == "claude-code" else "named after the technique tools"
        guide = ("read it with the MCP resource tools" if agent == "claude-code" else "read it with read_resource")
        return (f"Use the MCP server `{MCP_SERVER}`: its tools ({prefix}) run the techniques {names}. Each "
                f"technique's guide is the resource `technique://<name>/guide`; {guide} before the first call.")
    if ws.format == "notebook":
        tool = f"`mcp__{NOTEBOOK_SERVER}__run_cell`" if agent == "claude-code" else "`run_cell`"
        return (f"Use the tool {tool}: it runs Python in a Jupyter kernel where the tools of {names} are already "
                "functions in the namespace (`%interp guide <name>` prints a technique's guide; read it first). "
                f"Your cells and their outputs are kept in `{NOTEBOOK_FILE}`.")
    runner = "Bash" if agent == "claude-code" else "run_command"
    return (f"The techniques {names} are described in your system prompt. Run their tools with {runner}: "
            "`interp-skills run <technique> <tool> --<parameter> <value> ... --json`.")


def metric_lines(pack: PaperPack) -> list[str]:
    """One line per number the rater reads from metrics.json (the claims' dotted paths)."""
    seen: dict[str, str] = {}
    for claim in pack.claims:
        seen.setdefault(claim.metric, claim.description)
    return [f"  - `{path}`: {description}" for path, description in seen.items()]


def build_task(pack: PaperPack, ws: Workspace, agent: str, checkpoint: str) -> str:
    """The full task prompt."""
    plan = []
    for index, stage in enumerate(pack.stages, 1):
        mark = " [checkpoint]" if stage.pause and checkpoint == "ask" else ""
        plan.append(f"{index}. `{stage.name}`: {stage.title}{mark}")
    parts = [
        f"# Task: {pack.title}",
        pack.task.strip(),
        f"Paper: {pack.citation}",
        "## How to run the techniques",
        how_to_use(ws, agent) + " " + ws.model_flag(),
        "## Plan",
        "The reference pipeline has these steps (follow them, or say in the report where you departed):\n"
        + "\n".join(plan),
    ]
    paused = [s.name for s in pack.stages if s.pause]
    if checkpoint == "ask" and paused:
        parts += ["## Checkpoints",
                  "After each step marked [checkpoint], stop and end your turn with a message whose first line is "
                  f"exactly `{CHECKPOINT_MARK} <step name>` (e.g. `{CHECKPOINT_MARK} {paused[0]}`), then "
                  "what you found and what you will do next. A person will answer; then carry on."]
    parts += [
        "## Results",
        f"When the experiment is done, write two files in the working folder `{ws.root}` and then stop:\n"
        "- `metrics.json`: the numbers you measured. The rater reads them at these dotted paths (a dot is a "
        "nested object, an integer is a list index):\n" + "\n".join(metric_lines(pack)) + "\n"
        "- `report.md`: what you did (tools, parameters, model), the numbers and what they show, and what did "
        "not work.\n"
        "Report only numbers that a tool returned in this session. If you could not measure something, leave it "
        "out of metrics.json and say so in report.md.",
    ]
    return "\n\n".join(parts) + "\n"
