"""`interp-skills mcp serve --technique steering-vectors` as a real subprocess, driven by the real mcp client."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

SERVE = [str(Path(sys.executable).parent / "interp-skills"), "mcp", "serve", "--technique", "steering-vectors",
         "--model", "smollm2", "--max-new-tokens", "16"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.slow
@pytest.mark.anyio
async def test_steering_over_stdio_loads_the_model_once(tmp_path: Path) -> None:
    params = StdioServerParameters(command=SERVE[0], args=SERVE[1:])
    with open(tmp_path / "server.log", "w+") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert set(tools) == {"steer", "build_vector", "apply_vector", "sweep_coefficients", "list_artifacts"}
            assert tools["steer"].input_schema["properties"]["coefficient"]["maximum"] == 100

            steered = await session.call_tool("steer", {
                "positive": ["I love this, it is wonderful.", "What a fantastic day!"],
                "negative": ["I hate this, it is awful.", "What a terrible day!"],
                "prompts": ["Tell me about your weekend."], "max_new_tokens": 12})
            assert not steered.is_error, steered.content
            result = steered.structured_content
            row = result["rows"][0]
            assert row["prompt"] == "Tell me about your weekend." and row["default"] != row["steered"]

            over_limit = await session.call_tool("apply_vector", {
                "vector_id": result["vector"]["vector_id"], "prompts": ["hi"], "max_new_tokens": 64})
            assert over_limit.is_error and "--max-new-tokens" in over_limit.content[0].text
            bad_layer = await session.call_tool("build_vector", {"positive": ["a"], "negative": ["b"], "layer": 99})
            assert bad_layer.is_error and "0..29" in bad_layer.content[0].text

            again = await session.call_tool("apply_vector", {
                "vector_id": result["vector"]["vector_id"], "prompts": ["How was the film?"], "max_new_tokens": 8})
            assert not again.is_error and again.structured_content["rows"][0]["steered"]
        errlog.seek(0)
        log = errlog.read()
    assert log.count("loaded model smollm2-135m-instruct") == 1, log
