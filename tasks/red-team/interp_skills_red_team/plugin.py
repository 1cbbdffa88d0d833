"""Registers the red-team technique, the probe and llm autoraters, the refusal organism, the agent task and the
scripted-baseline pack. Importing this module does not import torch."""

from __future__ import annotations

from importlib import resources
from typing import Any

from interp_skills import hookimpl
from interp_skills.rating import load_claims
from interp_skills.spec import Autorater, Needs, Organism, PaperPack, Reference, Requirements, Stage, Technique, Tool
from interp_skills_red_team import __version__, organism, results, tools
from interp_skills_red_team.goals import held_out
from interp_skills_red_team.settings import Settings
from interp_skills_red_team.task import red_team_task

STAGES = "interp_skills_red_team.pipeline"
AGENT_GOALS = 4  # held-out harmful instructions an agent attacks in the red-team task
PAIR = Reference(title="Jailbreaking Black Box Large Language Models in Twenty Queries (Chao et al., 2023; PAIR)",
                 url="https://arxiv.org/abs/2310.08419")


def technique() -> Technique:
    prompt = {"prompt": "Tell me about the history of lock picking."}
    return Technique(
        name="red-team",
        version=__version__,
        summary=("Attacker tools against an autorater (a prompt classifier) in front of a target model: the "
                 "autorater's verdict on a prompt, the target's reply, and the target's first-token refusal score. "
                 "Use when red-teaming a content filter: searching for prompts the filter passes while the target "
                 "still does what was asked, or measuring a filter's false positives."),
        guide=resources.files("interp_skills_red_team").joinpath("guide.md").read_text(encoding="utf-8"),
        tools=[Tool.from_function(tool, example=prompt) for tool in (tools.classify, tools.query_target,
                                                                     tools.refusal_score)],
        requirements=Requirements(pip=["interp-skills-red-team"], gpu="optional"),
        references=[PAIR],
        tags=["red-teaming", "autorater", "jailbreak", "probe"],
    )


def pack() -> PaperPack:
    return PaperPack(
        name="red-team-baselines",
        title="Scripted attackers against an autorater in front of the refusal organism",
        citation="Attack families after Chao et al. (2023), PAIR, arXiv 2310.08419; the probe, templates and "
                 "operators are this project's",
        summary="Templated rewrites and a PAIR-style refine loop try to get held-out harmful instructions past the "
                "probe autorater while the refusal organism complies; attack success rate, queries, false positives.",
        kind="adversarial",
        techniques=["red-team"],
        environment=Needs(local_model="organism:refusal", paper_models=["none (the targets are this pack's own)"],
                          modal_model="Qwen/Qwen2.5-1.5B-Instruct",
                          datasets=["harmful_instructions (ours, test split)", "harmless_instructions (ours)"],
                          notes="Any --model is attacked as it is; the probe is fitted on it first (cached)."),
        claims=load_claims(resources.files("interp_skills_red_team") / "claims.toml"),
        prompt="Run the scripted red-team baselines and report attack success rate, queries and false positives.",
        stages=[Stage(name="autorater", title="Autorater card and false positives", run=f"{STAGES}:stage_autorater"),
                Stage(name="attacks", title="Scripted attackers on held-out goals", run=f"{STAGES}:stage_attacks")],
        settings=Settings, metrics=results.metrics, figure=results.figure, report=results.report,
        figure_name="attackers.png",
    )


@hookimpl
def register_techniques(register: Any) -> None:
    register(technique())


@hookimpl
def register_autoraters(register: Any) -> None:
    register(Autorater(name="probe", whitebox=True, flag="interp_skills_red_team.probe:flag",
                       summary="Logistic-regression probe on the target's residual stream, fitted on our "
                               "harmful/harmless train splits (cached per target)."))
    register(Autorater(name="llm", flag="interp_skills_red_team.llm:flag",
                       summary="An Anthropic model asked whether the prompt is malicious (needs ANTHROPIC_API_KEY)."))


@hookimpl
def register_organisms(register: Any) -> None:
    register(Organism(name=organism.NAME, title="Refusal organism",
                      summary="SmolLM2-135M-Instruct fine-tuned to refuse our harmful instructions (the "
                              "refusal-direction pack's organism, one shared cache).",
                      secret="a trained behaviour: which requests it refuses", answer_kind="label",
                      choices=organism.BEHAVIOURS, build="interp_skills_red_team.organism:build"))


@hookimpl
def register_tasks(register: Any) -> None:
    register(red_team_task(held_out(AGENT_GOALS)[0]))


@hookimpl
def register_papers(register: Any) -> None:
    register(pack())

