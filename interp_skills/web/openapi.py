"""``GET /api/openapi.json``: the OpenAPI 3.1 schema of the JSON API, its bodies built from the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from interp_skills.web.auth import TOKEN_HEADER
from interp_skills.web.models import (
    CheckpointReply,
    ErrorBody,
    RunInfo,
    Started,
    StartRequest,
    TaskInfo,
    TechniqueInfo,
)

MODELS: tuple[type[BaseModel], ...] = (StartRequest, Started, CheckpointReply, RunInfo, TechniqueInfo, TaskInfo,
                                       ErrorBody)
RUN_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "the run's id"}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref(ErrorBody), description)


def _list(model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "array", "items": _ref(model)}


def openapi_schema() -> dict[str, Any]:
    """The whole document: every route under /api, its bodies, answers and the token scheme."""
    _, definitions = models_json_schema([(m, "serialization") for m in MODELS],
                                        ref_template="#/components/schemas/{model}")
    token = [{"token": []}]
    unauthorized = _error("no token, or a wrong one, in the " + TOKEN_HEADER + " header")
    unknown = _error("no run with that id")
    paths = {
        "/api/agent/task": {"post": {
            "summary": "Start an agent run (the options of `interp-skills agent run`)", "security": token,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(StartRequest)}}},
            "responses": {"201": _json(_ref(Started), "the run started"),
                          "400": _error("bad input: an unknown task, technique, format or harness, a bad limit"),
                          "401": unauthorized}}},
        "/api/runs": {"get": {"summary": "Every run, live or past, newest first",
                              "responses": {"200": _json(_list(RunInfo), "the runs")}}},
        "/api/runs/{id}": {"get": {
            "summary": "A run's status; once finished its verdict, results and figures", "parameters": [RUN_ID],
            "responses": {"200": _json(_ref(RunInfo), "the run"), "404": unknown}}},
        "/api/runs/{id}/events": {"get": {
            "summary": "The run's events as server-sent events: `data:` per events.jsonl line (from the "
                       "beginning, then live), `event: status` (a RunInfo) on each change, `event: end` at the end",
            "parameters": [RUN_ID],
            "responses": {"200": {"description": "the stream", "content": {"text/event-stream": {
                "schema": {"type": "string"}}}}, "404": unknown}}},
        "/api/runs/{id}/checkpoint": {"post": {
            "summary": "Answer the checkpoint the run waits at", "security": token, "parameters": [RUN_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(CheckpointReply)}}},
            "responses": {"200": _json(_ref(RunInfo), "the reply was handed to the agent"),
                          "400": _error("bad input"), "401": unauthorized, "404": unknown,
                          "409": _error("the run is not waiting at a checkpoint")}}},
        "/api/techniques": {"get": {"summary": "The installed techniques",
                                    "responses": {"200": _json(_list(TechniqueInfo), "the techniques")}}},
        "/api/tasks": {"get": {"summary": "The registered tasks (replications and other kinds)",
                               "responses": {"200": _json(_list(TaskInfo), "the tasks")}}},
        "/api/openapi.json": {"get": {"summary": "This schema",
                                      "responses": {"200": _json({"type": "object"}, "the OpenAPI document")}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "interp-skills web", "version": "1",
                 "description": "Start agent runs on interpretability tasks and watch them live."},
        "paths": paths,
        "components": {"schemas": definitions["$defs"],
                       "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER}}},
    }
