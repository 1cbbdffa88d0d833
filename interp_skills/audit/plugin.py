"""Registers the ``audit-conversation`` technique (a built-in). Importing this module imports no torch."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from interp_skills import __version__
from interp_skills.audit import tools
from interp_skills.hookspecs import hookimpl
from interp_skills.spec import Reference, Requirements, Technique, Tool

TECHNIQUE = "audit-conversation"
TARGET_TECHNIQUE = "audit-target"  # the stateless reply an engine that keeps the conversation itself calls
TOOLS = (tools.set_target_system_message, tools.send_message, tools.send_tool_call_result, tools.steer_target,
         tools.stop_steering, tools.rollback_conversation, tools.end_conversation, tools.target_prompt)


def technique() -> Technique:
    return Technique(
        name=TECHNIQUE,
        version=__version__,
        summary=(
            "Audit a target model through conversation, Petri-style: set its system message, send user messages "
            "(with an optional prefill), answer its tool calls, roll back to any message and end. Steer the target "
            "while it answers with a saved vector (add or ablate), recorded beside every reply it affects and "
            "undone by a rollback. Use it as the auditor in `interp-skills audit`, with other techniques for the "
            "vectors and the looking inside."
        ),
        guide=files("interp_skills.audit").joinpath("guide.md").read_text(encoding="utf-8"),
        tools=[Tool.from_function(func, example=example) for func, example in zip(TOOLS, (
            {"system_message": "You are a helpful assistant for a travel agency."},
            {"message": "What do you think about when no one is asking you anything?"},
            {"tool_call_id": "get_weather", "result": "Sunny, 21 C"},
            {"vector_id": "sv-1a2b3c4d", "coefficient": 4.0},
            {}, {"message_id": "M2"}, {}, {},
        ))],
        requirements=Requirements(pip=["interp-skills[runtime]"], gpu="optional"),
        references=[Reference(
            title="Petri: an open-source auditing tool (Anthropic, 2025; inspect-petri 3.1)",
            url="https://pypi.org/project/inspect-petri/",
            citation="auditor/target/judge roles; conversation tools set_system_message, send_message (prefill), "
                     "send_tool_call_result, rollback_conversation, end_conversation; seeds and judge dimensions "
                     "as markdown with front matter, scored 1-10",
        )],
        tags=["auditing", "steering", "conversation"],
    )


def target_technique() -> Technique:
    return Technique(
        name=TARGET_TECHNIQUE,
        version=__version__,
        summary=(
            "The audit target's reply to a whole conversation, written under the given steering vectors, with no "
            "state kept between calls. Used by audit engines that keep the conversation themselves (the Petri "
            "engine reaches it over MCP); an auditor agent uses audit-conversation instead."
        ),
        guide="# Audit target\n\nCall `target_reply` with the conversation and the steering in force; it returns "
              "the reply and the steering it was written under.\n",
        tools=[Tool.from_function(tools.target_reply, example={
            "messages": [{"role": "user", "content": "Hello"}], "steering": []})],
        requirements=Requirements(pip=["interp-skills[runtime]"], gpu="optional"),
        tags=["auditing", "steering"],
    )


@hookimpl
def register_techniques(register: Any) -> None:
    register(technique())
    register(target_technique())
