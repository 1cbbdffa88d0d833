"""The ``skill`` renderer: an Agent Skills folder per technique (SKILL.md, references/, scripts/).

Frontmatter holds only the six portable keys; our extras live under ``metadata``. ``mount``
puts the folders in an agent's workspace under ``.claude/skills/`` and lets it run Python.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from interp_skills import __version__
from interp_skills.errors import InterpSkillsError
from interp_skills.render.files import example_command, render_template, write_new_files
from interp_skills.render.howto import model_note, technique_list
from interp_skills.spec import SKILLS_DIR, Mount, MountRequest, RenderResult, Technique, Tool
from interp_skills.spec.technique import PAGE_NAME_PATTERN

MAX_BODY_LINES = 500


def _type_name(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " or ".join(_type_name(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {_type_name(prop.get('items', {}))}"
    limits = [f"{label} {prop[key]}" for key, label in
              (("minimum", "≥"), ("maximum", "≤"), ("exclusiveMinimum", ">"), ("exclusiveMaximum", "<"))
              if key in prop]
    return prop.get("type", "any") + (f" ({', '.join(limits)})" if limits else "")


def _compatibility(t: Technique) -> str:
    gpu = {"none": "CPU only", "optional": "CPU or GPU", "required": "needs a GPU"}[t.requirements.gpu]
    return f"Python >= 3.11 with the {t.plugin or t.name} package installed (it provides interp-skills); {gpu}."


def skill_files(t: Technique) -> dict[str, str]:
    """Relative path -> text for one technique's skill folder."""
    commands = {tool.name: example_command(f"scripts/{tool.name}.py", tool) for tool in t.tools}
    type_names = {
        tool.name: {name: _type_name(prop) for name, prop in tool.input_schema.get("properties", {}).items()}
        for tool in t.tools
    }
    skill_md = render_template("skill/SKILL.md.j2", t=t, commands=commands,
                               compatibility=_compatibility(t), generator=f"interp-skills {__version__}")
    body_lines = skill_md.split("\n---\n", 1)[1].count("\n")
    if body_lines >= MAX_BODY_LINES:
        raise InterpSkillsError(
            f"{t.name}: SKILL.md body is {body_lines} lines (limit {MAX_BODY_LINES}); "
            "move depth out of the guide into extra_docs (rendered under references/)"
        )
    files = {
        "SKILL.md": skill_md,
        "references/tools.md": render_template("skill/tools.md.j2", t=t, commands=commands, type_names=type_names),
    }
    if bad := sorted(page for page in t.extra_docs if not re.fullmatch(PAGE_NAME_PATTERN, page)):
        raise InterpSkillsError(f"{t.name}: extra_docs page names {bad} are not plain file names "
                                f"({PAGE_NAME_PATTERN}); nothing was written. Rename them, e.g. 'method.md'")
    files.update({f"references/{page}": text for page, text in t.extra_docs.items()})
    files.update({f"scripts/{tool.name}.py": _script(t, tool) for tool in t.tools})
    return files


def install_hint(t: Technique) -> str:
    """What a skill script tells a Python without interp-skills: a built-in comes from the checkout (not on PyPI)."""
    from interp_skills.plugins import is_first_party

    setup = "in a checkout of the interp-skills repository, run `bash scripts/install.sh`"
    if t.plugin and not is_first_party(t.plugin):
        return f"{setup}, then `pip install {t.plugin}`"
    return setup


def _script(t: Technique, tool: Tool) -> str:
    return render_template("skill/script.py.j2", t=t, tool=tool, install_hint=install_hint(t))


def render(techniques: list[Technique], out_dir: Path) -> RenderResult:
    written: list[str] = []
    for t in techniques:
        written += write_new_files(out_dir / t.name, skill_files(t))
    return RenderResult(files=written, message=f"{len(techniques)} skill folder(s) in {out_dir}")


def how_to_use(request: MountRequest) -> str:
    """Load a skill (by name if the harness can, else by reading its SKILL.md), then run its scripts."""
    words, names = request.vocabulary, request.names
    if words.load_skill:
        first = names[0]
        return (f"Use the skill `{first}` for this" + (f" (also available: {technique_list(names)})"
                                                      if len(names) > 1 else "")
                + f": call {words.load_skill} with `{first}` first to load it, then run its scripts with "
                f"{words.run_command} exactly as the skill explains.")
    return (f"Use the skill(s) {technique_list(names)}: read `{SKILLS_DIR}/<name>/SKILL.md` with {words.read_file} "
            f"first, then run the skill's scripts with {words.run_command} as it explains.")


def mount(request: MountRequest) -> Mount:
    """Skill folders in the workspace's ``.claude/skills/``; the agent runs their scripts with Python."""
    files = {f"{SKILLS_DIR / t.name / rel}": text for t in request.techniques for rel, text in skill_files(t).items()}
    return Mount(format="skill", techniques=request.names, files=files, skills=request.names,
                 commands=["python *", "python3 *"], how_to_use=how_to_use(request),
                 model_note=model_note(request.models, selected=False, backend=request.backend))
