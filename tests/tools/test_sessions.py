"""MCP sessions as a profile keeps them: a stdio server by command, a server that restarts, closing."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from domain.events import Event
from domain.provider import Provider
from gateway.process.settings import Settings
from gateway.telemetry.metrics import Metrics
from gateway.tools.loop import with_tools
from tests.aio import run
from tests.gateway_process import ROOT
from tests.tools.mcp_process import STDIO_COMMAND, start_shop
from tests.tools.scripted import ScriptedProvider, answer, calls
from tests.tools.test_loop import QUESTION, results_of

PID_CALL = ("p", "shop__server_pid", "{}")


def pid_loop(server: dict[str, Any], replies: int) -> tuple[Provider, ScriptedProvider]:
    model = ScriptedProvider(*(step for _ in range(replies) for step in (calls(PID_CALL), answer("ok"))))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        mcp_servers={"shop": server},
        tools=["shop.server_pid"],
    )
    return with_tools(model, "shop", settings, Metrics()), model


def pids_seen(model: ScriptedProvider) -> list[str]:
    return [
        results_of(request)[0].content for request in model.requests if request.messages[-1].role == "tool"
    ]


async def one_reply(loop: Provider) -> list[Event]:
    return [event async for event in loop.stream(QUESTION)]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_a_stdio_server_runs_by_command_is_reconnected_once_it_dies_and_ends_with_the_profile() -> None:
    program, *args = STDIO_COMMAND
    loop, model = pid_loop({"command": [program, *args], "cwd": str(ROOT)}, replies=2)

    async def around_a_crash() -> None:
        try:
            await one_reply(loop)
            os.kill(int(pids_seen(model)[0]), signal.SIGKILL)
            await one_reply(loop)
        finally:
            await loop.aclose()

    run(around_a_crash())
    first, second = (int(pid) for pid in pids_seen(model))
    assert first != second  # the second reply reached a new server, not an error
    deadline = time.monotonic() + 30
    while alive(second) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(second), "closing the profile must end the server it started"


def test_a_restarted_http_server_is_reached_again_without_an_error() -> None:
    server = start_shop()
    loop, model = pid_loop({"url": server.url}, replies=2)

    async def around_a_restart() -> None:
        nonlocal server
        try:
            await one_reply(loop)
            server.stop()
            server = start_shop(server.port)
            await one_reply(loop)
        finally:
            await loop.aclose()

    try:
        run(around_a_restart())
    finally:
        server.stop()
    results = [results_of(request)[0] for request in model.requests if request.messages[-1].role == "tool"]
    assert [result.is_error for result in results] == [False, False]
    assert results[0].content != results[1].content  # two processes answered
