"""The JSON shapes of the web API (request bodies and responses); the OpenAPI schema is built from them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from interp_skills.spec import Limits

Status = Literal["queued", "running", "waiting", "done", "failed"]
FINISHED: tuple[Status, ...] = ("done", "failed")
Name = Annotated[str, Field(min_length=1)]


class StartRequest(BaseModel):
    """``POST /api/agent/task``: the options of ``interp-skills agent run``, as JSON."""

    model_config = ConfigDict(extra="forbid")

    task: Name = Field(description="a registered task (every paper pack is one)")
    techniques: list[Name] = Field(default_factory=list, description="replace the task's techniques; []: the task's")
    format: Name = Field(description="skill, mcp, prompt, notebook or a plugin's format")
    harness: Name = Field("claude-code", description="claude-code, api or a plugin's harness")
    model: Name | None = Field(None, description="the agent's model; null: the harness's default")
    interp_model: Name | None = Field(None, description="the model the techniques run on; null: the task's")
    limits: Limits = Field(default_factory=Limits)
    checkpoint: Literal["none", "ask"] = Field("none", description="ask: pause at the task's checkpoints")
    judge: Name | None = Field(None, description="Anthropic model for the LLM judge; null: claims only")


class Started(BaseModel):
    """The answer to a started run: its id and the page that shows it live."""

    id: str
    url: str


class CheckpointReply(BaseModel):
    """``POST /api/runs/{id}/checkpoint``: the person's reply to the agent ("" carries on as planned)."""

    model_config = ConfigDict(extra="forbid")

    reply: str = Field(max_length=20_000)


class Checkpoint(BaseModel):
    """The question a run waits on: the stage the agent reached and what it said."""

    stage: str
    summary: str


class RunInfo(BaseModel):
    """``GET /api/runs/{id}``: where a run stands and, once finished, its verdict, results and figures."""

    id: str
    status: Status
    task: str
    format: str
    harness: str
    stop: str | None = Field(None, description="why the agent stopped (done, turn_limit, ...), once it has")
    detail: str | None = Field(None, description="a sentence on the stop, or why the run failed")
    verdict: dict[str, Any] | None = Field(None, description="verdict.json, once the run is graded")
    checkpoint: Checkpoint | None = Field(None, description="the pending question while status is waiting")
    figures: list[str] = Field(default_factory=list, description="URLs of the run's figures")
    url: str = Field(description="the run's page")
    started: str | None = None
    outcome: dict[str, Any] | None = Field(None, description="agent.json: turns, cost, wall time, tool calls")
    metrics: Any = Field(None, description="metrics.json, the agent's numbers")


class ToolInfo(BaseModel):
    name: str
    summary: str


class VerifiedInfo(BaseModel):
    model: str
    technique_version: str
    date: str
    result: str


class TechniqueInfo(BaseModel):
    """``GET /api/techniques``: one installed technique."""

    name: str
    version: str
    summary: str
    plugin: str
    plugin_version: str
    tools: list[ToolInfo]
    verified: list[VerifiedInfo]
    url: str


class ClaimInfo(BaseModel):
    id: str
    description: str
    required: bool


class TaskInfo(BaseModel):
    """``GET /api/tasks``: one registered task (a replication or another kind)."""

    name: str
    title: str
    kind: str
    summary: str
    techniques: list[str]
    claims: list[ClaimInfo]
    checkpoints: list[str] = Field(description="stages a run with checkpoint 'ask' pauses after")
    citation: str | None = None


class ErrorBody(BaseModel):
    """Every error answer: one message that says what to change."""

    error: str
