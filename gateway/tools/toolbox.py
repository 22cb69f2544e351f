"""A profile's tools: the MCP tools its operator allowed, offered to the model, called with bounds.

Every call ends in a result for the model, an error result when the tool failed, timed out, could not be
reached or was never offered; each is logged in one line and counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from mcp.client import InputRequiredRoundsExceededError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent
from pydantic import ValidationError

from domain.messages import ToolCallPart, ToolResultPart
from domain.request import ToolSpec
from gateway.telemetry.metrics import Metrics
from gateway.tools import config
from gateway.tools.config import McpServer
from gateway.tools.mcp_session import McpSession, ServerUnavailable

log = logging.getLogger("gateway.tools")
# Beside the access log's lines, as JSON lines of their own: {"event": "tool_call", ...}.
call_log = logging.getLogger("gateway.access.tools")

# What providers accept as a function name (OpenAI's rule, the strictest of them).
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_NAME = 64
UNKNOWN = "unknown"  # the metric label of a name the model made up: never a dotted SERVER.TOOL


@dataclass(frozen=True, slots=True)
class OfferedTool:
    server: str
    tool: str  # its name on the server
    spec: ToolSpec  # as the model sees it, under a provider-safe name

    @property
    def label(self) -> str:
        return f"{self.server}.{self.tool}"


@dataclass(frozen=True, slots=True)
class Ran:
    """One call's result for the model, and what happened, for the log and the note."""

    result: ToolResultPart
    outcome: str  # ok | error | timeout | unavailable | unknown_tool | bad_arguments
    offered: OfferedTool | None


def exposed_name(server: str, tool: str) -> str:
    return _UNSAFE.sub("_", f"{server}__{tool}")[:MAX_NAME]


class Toolbox:
    def __init__(
        self,
        profile: str,
        servers: Mapping[str, McpServer],
        patterns: list[str],
        *,
        timeout: float,
        result_bytes: int,
        metrics: Metrics | None,
        log_arguments: bool,
    ) -> None:
        self.profile = profile
        self.patterns = tuple(patterns)
        self.timeout = timeout
        self.result_bytes = result_bytes
        self.metrics = metrics
        self.log_arguments = log_arguments
        self._missing: set[str] = set()
        named = {pattern.split(".", 1)[0] for pattern in self.patterns}
        self.sessions = {
            name: McpSession(name, server, connect_seconds=timeout)
            for name, server in servers.items()
            if name in named  # a server none of whose tools is allowed is never started
        }

    async def offered(self) -> dict[str, OfferedTool]:
        """The allowed tools of every server that answers now, by the name the model sees."""
        listings = await asyncio.gather(*(self._listing(session) for session in self.sessions.values()))
        offered: dict[str, OfferedTool] = {}
        for tools in listings:
            for tool in tools:
                if tool.spec.name in offered:
                    clash = offered[tool.spec.name].label
                    log.warning("tool %s hidden: its name clashes with %s's", tool.label, clash)
                    continue
                offered[tool.spec.name] = tool
        return offered

    async def _listing(self, session: McpSession) -> list[OfferedTool]:
        try:
            async with asyncio.timeout(self.timeout):
                tools = await session.tools()
        except (ServerUnavailable, MCPError, ValidationError, TimeoutError) as exc:
            # The reply goes on without this server's tools; the next reply tries again.
            log.warning("profile %s: MCP server %s offers no tools now: %s", self.profile, session.name, exc)
            return []
        self._warn_missing(session.name, {tool.name for tool in tools})
        return [
            OfferedTool(
                session.name,
                tool.name,
                ToolSpec(exposed_name(session.name, tool.name), tool.description, tool.input_schema),
            )
            for tool in tools
            if config.allows(self.patterns, session.name, tool.name)
        ]

    def _warn_missing(self, server: str, listed: set[str]) -> None:
        """Say once which tools the file allows that the server does not have (a typo, an old name)."""
        for pattern in self.patterns:
            name, _, tool = pattern.partition(".")
            if name == server and tool != "*" and tool not in listed and pattern not in self._missing:
                self._missing.add(pattern)
                log.warning("profile %s: tool %s is allowed but not on its server", self.profile, pattern)

    async def run(self, call: ToolCallPart, offered: Mapping[str, OfferedTool]) -> Ran:
        started = time.perf_counter()
        tool = offered.get(call.name)
        ran = await self._run(call, tool)
        self._account(ran, call, time.perf_counter() - started)
        return ran

    async def _run(self, call: ToolCallPart, tool: OfferedTool | None) -> Ran:
        def fail(outcome: str, message: str) -> Ran:
            return Ran(ToolResultPart(call.id, message, call.name, is_error=True), outcome, tool)

        if tool is None:
            return fail("unknown_tool", f"There is no tool named {call.name!r}; use only the tools offered.")
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            return fail("bad_arguments", f"The arguments are not valid JSON ({exc}); send a JSON object.")
        if not isinstance(arguments, dict):
            return fail("bad_arguments", "The arguments must be a JSON object.")
        try:
            async with asyncio.timeout(self.timeout):
                result = await self.sessions[tool.server].call(tool.tool, arguments)
        except TimeoutError:
            return fail("timeout", f"The tool did not answer within {self.timeout:g} seconds.")
        except ServerUnavailable:
            return fail("unavailable", "The tool cannot be reached right now.")
        except MCPError as exc:  # the server refused the call (bad arguments, unknown tool, ...)
            return fail("error", f"The tool failed: {exc.message}")
        except (ValidationError, InputRequiredRoundsExceededError) as exc:
            # A result that breaks the protocol, or a server that keeps asking the user questions (the
            # gateway has no one to ask): the call failed, the reply goes on.
            log.warning("profile %s: %s answered unreadably: %s", self.profile, tool.label, exc)
            return fail("error", "The tool's answer could not be read.")
        text = self._bounded(result_text(result))
        outcome = "error" if result.is_error else "ok"
        return Ran(ToolResultPart(call.id, text, call.name, is_error=result.is_error), outcome, tool)

    def _bounded(self, text: str) -> str:
        data = text.encode()
        if len(data) <= self.result_bytes:
            return text
        kept = data[: self.result_bytes].decode(errors="ignore")  # never half a character
        shown = len(kept.encode())
        return f"{kept}\n[truncated: the tool returned {len(data)} bytes; only the first {shown} are here]"

    def _account(self, ran: Ran, call: ToolCallPart, seconds: float) -> None:
        label = ran.offered.label if ran.offered is not None else UNKNOWN
        if self.metrics is not None:
            self.metrics.tool_calls.labels(self.profile, label, ran.outcome).inc()
            self.metrics.tool_duration.labels(self.profile, label).observe(seconds)
        line: dict[str, Any] = {
            "event": "tool_call",
            "profile": self.profile,
            "tool": label,
            "outcome": ran.outcome,
            "duration_ms": round(seconds * 1000, 2),
        }
        if ran.offered is None:
            line["asked_for"] = call.name[:MAX_NAME]
        if self.log_arguments:
            line["arguments"] = call.arguments
        call_log.info(orjson.dumps(line).decode())

    async def aclose(self) -> None:
        await asyncio.gather(*(session.aclose() for session in self.sessions.values()))


def result_text(result: CallToolResult) -> str:
    """What the model reads of a result: its text; other content named, not inlined."""
    pieces = [
        block.text if isinstance(block, TextContent) else f"[{block.type} content omitted]"
        for block in result.content
    ]
    if not pieces and result.structured_content is not None:
        pieces.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(pieces)
