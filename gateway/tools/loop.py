"""The model → tool → model loop, in one place: a `Provider` around the profile's provider.

It offers the profile's tools with each request, passes text through as it comes, gathers the model's tool
calls, runs them (at once when several), hands the results back and asks again: at most `rounds` times,
then once more with tools off. Only text, usage and the last finish leave it, so every front door streams
the answer as usual and a conversation stores what the visitor saw.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, Sequence

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from domain.messages import Message, Part, TextPart, ToolCallPart
from domain.provider import Provider
from domain.request import ChatRequest
from gateway.process.settings import Settings
from gateway.telemetry.metrics import Metrics
from gateway.tools.config import check_can_call_tools
from gateway.tools.toolbox import Ran, Toolbox

# The gateway runs this profile's tools, so a client cannot bring its own (a 400 names the option).
SERVER_RUN = frozenset({"tools", "tool_choice", "parallel_tool_calls"})
GAVE_UP = "\n\nSorry, I could not finish: answering this needed more tool calls than I may make in one reply."


def with_tools(provider: Provider, profile: str, settings: Settings, metrics: Metrics | None) -> Provider:
    """`provider` behind the loop of the profile's tools; `ConfigError` when it cannot call tools."""
    check_can_call_tools(provider, settings.tools)
    toolbox = Toolbox(
        profile,
        settings.mcp_servers,
        settings.tools,
        timeout=settings.tool_timeout,
        result_bytes=settings.tool_result_bytes,
        metrics=metrics,
        log_arguments=settings.log_content,
    )
    return ToolLoop(provider, toolbox, rounds=settings.tool_rounds, notes=settings.tool_notes)


@dataclasses.dataclass
class _Round:
    """One reply of the model: its text, its calls (pieces joined by index), how it ended, its usage."""

    spent_in: int  # tokens of the rounds before this one: a provider's usage counts one call only
    spent_out: int
    text: list[str] = dataclasses.field(default_factory=list)
    calls: dict[int, list[str]] = dataclasses.field(default_factory=dict)  # index -> [id, name, arguments]
    finish: Finish | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    def take(self, event: Event) -> Event | None:
        """What the visitor gets of `event`: text at once, usage on top of the rounds before; the calls
        and the finish are kept."""
        if type(event) is TextDelta:
            self.text.append(event.text)
            return event
        if type(event) is ToolCallDelta:
            call = self.calls.setdefault(event.index, ["", "", ""])
            call[0] = event.id or call[0]
            call[1] = event.name or call[1]
            call[2] += event.arguments
        elif type(event) is Usage:
            self.input_tokens, self.output_tokens = event.input_tokens, event.output_tokens
            return Usage(_plus(self.spent_in, event.input_tokens), _plus(self.spent_out, event.output_tokens))
        elif type(event) is Finish:
            self.finish = event
        return None

    def tool_calls(self) -> list[ToolCallPart]:
        return [ToolCallPart(*self.calls[index]) for index in sorted(self.calls)]


class ToolLoop:
    def __init__(self, inner: Provider, toolbox: Toolbox, *, rounds: int, notes: bool) -> None:
        self.inner = inner
        self.toolbox = toolbox
        self.rounds = rounds
        self.notes = notes
        self.name = inner.name
        self.model = inner.model
        self.accepts_images = inner.accepts_images
        self.supports = inner.supports - SERVER_RUN

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        offered = await self.toolbox.offered()
        tools = tuple(tool.spec for tool in offered.values())
        messages = list(request.messages)
        spent_in = spent_out = 0
        shown = ""  # the end of what the visitor has seen, so that a note starts a paragraph of its own
        for round_number in range(self.rounds + 1):
            last = round_number == self.rounds or not tools
            asked = dataclasses.replace(
                request,
                messages=tuple(messages),
                tools=tools,
                tool_choice="none" if last and tools and "tool_choice" in self.inner.supports else None,
                parallel_tool_calls=None,  # the provider's default: several calls run at once here
            )
            reply = _Round(spent_in, spent_out)
            events = self.inner.stream(asked)
            try:
                async for event in events:
                    if (passed := reply.take(event)) is not None:
                        if type(passed) is TextDelta and passed.text:
                            shown = passed.text
                        yield passed
            finally:
                await events.aclose()
            calls = reply.tool_calls()
            # Only a turn that ended to let its tools run: one cut short ("length") may hold half a call.
            if not calls or reply.finish != Finish("tool_calls"):
                if reply.finish is not None:
                    yield reply.finish
                return
            if last:  # the model still wants tools after its last round: say so rather than end mute
                yield TextDelta(GAVE_UP)
                yield Finish("stop")
                return
            spent_in += reply.input_tokens or 0
            spent_out += reply.output_tokens or 0
            ran = await asyncio.gather(*(self.toolbox.run(call, offered) for call in calls))
            said: tuple[Part, ...] = (TextPart("".join(reply.text)),) if reply.text else ()
            messages.append(Message("assistant", (*said, *calls)))
            messages.append(Message("tool", tuple(each.result for each in ran)))
            if self.notes and (note := _note(ran, after=shown)):
                shown = note
                yield TextDelta(note)

    async def aclose(self) -> None:
        try:
            await self.toolbox.aclose()
        finally:
            await self.inner.aclose()


def _plus(spent: int, now: int | None) -> int | None:
    """This round's running total on top of the rounds before it."""
    return None if now is None and not spent else spent + (now or 0)


def _note(ran: Sequence[Ran], *, after: str) -> str:
    """A line naming the tools that ran, in Deep Chat's markdown: italic, names as code, a paragraph of its
    own after the text shown so far (which ends with `after`)."""
    names = list(dict.fromkeys(each.offered.tool for each in ran if each.offered is not None))
    if not names:
        return ""
    used = ", ".join(f"`{name}`" for name in names)
    gap = "" if not after or after.endswith("\n\n") else "\n" if after.endswith("\n") else "\n\n"
    return f"{gap}_(used {used})_\n\n"
