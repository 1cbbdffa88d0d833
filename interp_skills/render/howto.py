"""What the renderers' ``mount`` functions tell an agent in words: the techniques, and the models they run on."""

from __future__ import annotations

from interp_skills.spec import TARGET


def technique_list(names: list[str]) -> str:
    """``names`` as inline code, comma-separated."""
    return ", ".join(f"`{n}`" for n in names)


def model_note(models: dict[str, str | None], *, selected: bool, backend: str | None = None) -> str:
    """Which model the techniques run on; ``selected``: the server already holds it, else the agent passes flags
    (``--backend`` too when the tools run in another environment)."""
    target = models.get(TARGET)
    if not target:
        notes = ["Run the techniques on their default model (the embedded SmolLM2-135M-Instruct)."]
    elif selected:
        notes = [f"The techniques run on the model `{target}` (already selected for you)."]
    else:
        notes = [f"Run the techniques on the model `{target}`: pass `--model {target}` to every tool."]
    for role, spec in models.items():
        if role == TARGET:
            continue
        spec = spec or "default"
        notes.append(f"The `{role}` model is `{spec}`: pass `role=\"{role}\"` to a tool to run it on that model."
                     if selected else
                     f"The `{role}` model is `{spec}`: add `--role {role}={spec}` to a tool's flags to reach it.")
    if backend and not selected:
        notes.append(f"The tools run on {backend}: pass `--backend {backend}` to every tool as well.")
    return " ".join(notes)
