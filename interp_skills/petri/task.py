"""A whitebox Petri audit: inspect_petri's auditor, tools and judge, a target backed by our runtime.

The auditor gets Petri's conversation tools (``target_tools="none"``) plus our whitebox tools
as Inspect tools: ``build_steering_vector`` (steering-vectors on the target) and
``steer_target`` / ``stop_steering``. Steering is staged through the :data:`STEER` slot, so it
travels in Petri's recorded channel: a rollback replays only what came before its anchor, and
steering staged after it is gone. Each steered reply carries its steering in the message text
the judge and ``inspect view`` read (and in its metadata); the target itself never sees the note.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from inspect_ai import Task, task
from inspect_ai.agent import Agent, AgentState, agent
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Model,
    ModelAPI,
    ModelOutput,
    get_model,
    modelapi,
)
from inspect_ai.tool import Tool, ToolChoice, ToolError, ToolInfo, tool
from inspect_petri import JudgeDimension, audit_judge, audit_solver, audit_viewer, auditor_agent, auditor_tools
from inspect_petri.target import TOOL_RESULT, ExitSignal, Slot, TargetContext, controller

from interp_skills.audit.data import Dimension, Seed, load_dimensions, load_seeds
from interp_skills.audit.plugin import TARGET_TECHNIQUE
from interp_skills.petri.runtime import RuntimeClient, RuntimeServerError

PROVIDER = "interp-skills"  # Inspect model names "interp-skills/MODEL": MODEL on our runtime
STEER: Slot[list[dict[str, Any]]] = Slot("steer")  # the steering in force from the next reply on
NOTE_KEY = "steering_note"
VECTOR_TECHNIQUE = "steering-vectors"
_clients: dict[str, RuntimeClient] = {}


def runtime(model: str) -> RuntimeClient:
    """The runtime server for ``model`` (one per process, started on first use)."""
    if model not in _clients:
        _clients[model] = RuntimeClient(model, [TARGET_TECHNIQUE, VECTOR_TECHNIQUE])
    return _clients[model]


def _turns(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Petri's target messages as our runtime's turns: steering notes stripped, a prefill joined to its reply."""
    turns: list[dict[str, Any]] = []
    prefill = None
    for m in messages:
        meta = m.metadata or {}
        if m.role == "assistant" and meta.get("prefill"):
            prefill = m.text
            continue
        turn: dict[str, Any] = {"role": m.role, "content": m.text.removeprefix(meta.get(NOTE_KEY, ""))}
        if m.role == "assistant" and prefill is not None:
            turn["prefill"], prefill = prefill, None
        if m.role == "tool":
            turn["tool_call_id"] = m.tool_call_id
        turns.append(turn)
    return turns


_steering: ContextVar[list[dict[str, Any]]] = ContextVar("interp_skills_steering", default=[])


@modelapi(name=PROVIDER)
class RuntimeModel(ModelAPI):
    """``interp-skills/MODEL``: an Inspect model whose replies come from our runtime, under the current steering.

    A trailing assistant message tagged ``prefill`` (Petri's) becomes the reply's prefill.
    Model arg ``max_new_tokens`` (default 64) caps each reply.
    """

    def __init__(self, model_name: str, base_url: str | None = None, api_key: str | None = None,
                 config: GenerateConfig = GenerateConfig(), **model_args: Any) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        self.max_new_tokens = int(model_args.get("max_new_tokens", 64))

    async def generate(self, input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice,
                       config: GenerateConfig) -> ModelOutput:
        prefill = None
        if input and input[-1].role == "assistant" and (input[-1].metadata or {}).get("prefill"):
            prefill, input = input[-1].text, input[:-1]
        answer = await runtime(self.model_name).acall("target_reply", {
            "messages": _turns(input), "steering": _steering.get(), "prefill": prefill,
            "max_new_tokens": self.max_new_tokens})
        note = f"[steering: {'; '.join(answer['labels'])}] " if answer["labels"] else ""
        return ModelOutput.from_message(ChatMessageAssistant(
            content=note + answer["reply"], model=self.model_name, source="generate",
            metadata={"steering": answer["steering"], NOTE_KEY: note}))


@agent(name="interp_skills_target")
def whitebox_target(model: str | Model | None = None) -> Agent:
    """Petri's target loop (system + user, then reply / next user), each reply generated under STEER.

    The steering in force is staged by the auditor's tools through the STEER slot and taken
    before each reply, so a rollback's replay restores exactly the steering of its anchor.
    """

    async def execute(state: AgentState, context: TargetContext) -> AgentState:
        target = get_model(model) if model is not None else get_model(role="target")

        async def steered(messages: list[ChatMessage], steering: list[dict[str, Any]]) -> ModelOutput:
            token = _steering.set(steering)
            try:
                return await target.generate(input=messages)
            finally:
                _steering.reset(token)

        generate = context.replayable(steered, surface_errors=True)
        steering: list[dict[str, Any]] = []
        try:
            await context.wait_for_resume()
            system = await context.system_message(required=False)
            state.messages[:] = [*([system] if system else []), await context.user_message()]
            while True:
                staged = context.take(STEER)
                steering = steering if staged is None else staged
                if prefill := context.prefill():
                    state.messages.append(ChatMessageAssistant(content=prefill, metadata={"prefill": True}))
                state.output = await generate(list(state.messages), steering)
                state.messages.append(state.output.message)
                context.expect({TOOL_RESULT: set()})
                await context.send_output(state.output)
                state.messages.append(await context.user_message())
        except ExitSignal:
            return state

    return execute


@tool
def build_steering_vector(model: str = "default") -> Tool:
    async def execute(positive: list[str], negative: list[str], layer: int | None = None) -> str:
        """Build a steering vector on the target: mean activation of the positive prompts minus the negative ones.

        Args:
            positive: prompts that show the behaviour to steer towards (a few short texts).
            negative: matched prompts that show the opposite.
            layer: decoder layer to read and steer; default about a third of the depth.

        Returns:
            The vector's id, layer and size, for steer_target.
        """
        try:
            built = await runtime(model).acall("build_vector",
                                              {"positive": positive, "negative": negative, "layer": layer})
        except RuntimeServerError as exc:
            raise ToolError(str(exc)) from None
        return f"vector_id {built['vector_id']} (layer {built['layer']}, relative norm {built['relative_norm']})"

    return execute


@tool
def steer_target() -> Tool:
    async def execute(vector_id: str, coefficient: float = 4.0, layer: int | None = None) -> str:
        """Steer the target with one vector while it writes its next replies (until stop_steering or a rollback).

        A new call replaces the vector in force. A rollback restores the steering in force at
        the message rolled back to.

        Args:
            vector_id: an id from build_steering_vector.
            coefficient: multiple of the vector added at every position; negative steers away.
            layer: layer to steer; default the vector's own.

        Returns:
            The steering staged.
        """
        await controller().stage(STEER, [{"vector_id": vector_id, "coefficient": coefficient, "layer": layer}])
        return f"steering staged for the next reply: {coefficient:+g} x {vector_id}"

    return execute


@tool
def stop_steering() -> Tool:
    async def execute() -> str:
        """Stop steering the target from its next reply on.

        Returns:
            Confirmation.
        """
        await controller().stage(STEER, [])
        return "steering off from the next reply"

    return execute


def petri_dimension(dim: Dimension) -> JudgeDimension:
    return JudgeDimension(name=dim.name, display_name=dim.display_name, display_order=dim.display_order,
                          description=dim.description or dim.display_name, tags=dim.tags, rubric=dim.rubric)


def seed_samples(seeds: list[Seed]) -> MemoryDataset:
    return MemoryDataset([Sample(id=s.id, input=s.instructions, metadata={"tags": s.tags}) for s in seeds],
                         name="seeds")


def audit_task(seeds: list[Seed], dimensions: list[Dimension], target: str = "default", max_turns: int = 30) -> Task:
    """Petri's audit of ``target`` on our runtime, with our whitebox tools, seeds and dimensions.

    Bind the ``target`` role to ``interp-skills/TARGET`` (:func:`target_model`).
    """
    dims = [petri_dimension(d) for d in dimensions]
    return Task(
        dataset=seed_samples(seeds),
        solver=audit_solver(
            auditor=auditor_agent(max_turns=max_turns, compaction=False, target_display_name=target,
                                  tools=auditor_tools(target_tools="none", extra_tools=[
                                      build_steering_vector(target), steer_target(), stop_steering()])),
            target=whitebox_target()),
        scorer=audit_judge(dims),
        viewer=audit_viewer(dims),
    )


@task
def whitebox_audit(seeds: str | None = None, dimensions: str | None = None, target: str = "default",
                   max_turns: int = 30) -> Task:
    """:func:`audit_task` from ``--seeds``-style specs, for ``inspect eval interp_skills/petri/task.py``.

    Roles: ``auditor`` and ``judge`` (any Inspect model) and ``target=interp-skills/TARGET``.
    """
    return audit_task(load_seeds(seeds), load_dimensions(dimensions), target, max_turns)


def target_model(target: str, max_new_tokens: int = 64) -> Model:
    """The Inspect model for ``target`` on our runtime (bind it to the ``target`` role)."""
    return get_model(f"{PROVIDER}/{target}", max_new_tokens=max_new_tokens)


def close_runtimes() -> None:
    """Stop the runtime servers this process started."""
    while _clients:
        _clients.popitem()[1].close()
