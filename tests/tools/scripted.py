"""A provider that answers from a queue of scripted replies (as simonw/llm's tests do): a fake model, in
process, speaking our Provider interface; it records every request it was asked."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, Sequence

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from domain.request import ChatRequest


class ScriptedProvider:
    name = "scripted"
    model = "scripted-1"
    accepts_images = False

    def __init__(
        self,
        *replies: Sequence[Event],
        supports: frozenset[str] = frozenset({"tools", "tool_choice", "top_p"}),
    ) -> None:
        self.replies = deque(replies)
        self.supports = supports
        self.requests: list[ChatRequest] = []
        self.closed = False

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        self.requests.append(request)
        for event in self.replies.popleft():
            yield event

    async def aclose(self) -> None:
        self.closed = True


def calls(*calls: tuple[str, str, str], usage: Usage | None = None) -> list[Event]:
    """A reply that calls tools: (id, name, arguments) each, the arguments in two pieces as streamed."""
    events: list[Event] = []
    for index, (call_id, name, arguments) in enumerate(calls):
        half = len(arguments) // 2
        events += [
            ToolCallDelta(index, id=call_id, name=name),
            ToolCallDelta(index, arguments=arguments[:half]),
            ToolCallDelta(index, arguments=arguments[half:]),
        ]
    return [*events, *([usage] if usage else []), Finish("tool_calls")]


def answer(*texts: str, usage: Usage | None = None) -> list[Event]:
    return [*(TextDelta(text) for text in texts), *([usage] if usage else []), Finish("stop")]
