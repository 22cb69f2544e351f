"""The resilience wrapper's deadlines: the first event, each silence after it, and cancellation that is
not theirs. An in-process provider with scripted pauses stands in for the network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from domain.events import Event, Finish, TextDelta
from domain.messages import Message, TextPart
from domain.request import ChatRequest
from providers.errors import UpstreamError
from providers.resilient import ResilientProvider, RetryPolicy
from tests import aio

REQUEST = ChatRequest((Message("user", (TextPart("hi"),)),))


class Scripted:
    """Yields a delta after each pause in `pauses`, then finishes; records whether it was closed."""

    name = "scripted"
    model = "m"
    accepts_images = False
    supports: frozenset[str] = frozenset()

    def __init__(self, *pauses: float) -> None:
        self.pauses = pauses
        self.closed = False

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        try:
            for index, pause in enumerate(self.pauses):
                await asyncio.sleep(pause)
                yield TextDelta(str(index))
            yield Finish("stop")
        finally:
            self.closed = True

    async def aclose(self) -> None:
        return None


def wrapped(provider: Scripted, *, first: float, idle: float) -> ResilientProvider:
    policy = RetryPolicy(retries=0, first_delta_timeout=first, idle_timeout=idle)
    return ResilientProvider([provider], policy, breaker_threshold=100, breaker_reset=1)


async def collect(provider: ResilientProvider) -> list[Event]:
    return [event async for event in provider.stream(REQUEST)]


def test_a_reply_whose_pauses_each_fit_the_deadline_is_whole_however_long_it_takes() -> None:
    events = aio.run(collect(wrapped(Scripted(*[0.02] * 10), first=0.1, idle=0.1)))
    assert len(events) == 11 and isinstance(events[-1], Finish)


def test_a_first_event_that_comes_too_late_is_a_timeout() -> None:
    provider = Scripted(5.0)
    with pytest.raises(UpstreamError) as caught:
        aio.run(collect(wrapped(provider, first=0.05, idle=10)))
    assert caught.value.kind == "timeout" and provider.closed


def test_a_silence_shorter_than_the_first_deadline_but_longer_than_the_idle_one_is_a_timeout() -> None:
    provider = Scripted(0.0, 5.0)
    received: list[Event] = []

    async def run() -> None:
        async for event in wrapped(provider, first=10, idle=0.05).stream(REQUEST):
            received.append(event)

    with pytest.raises(UpstreamError) as caught:
        aio.run(run())
    assert caught.value.kind == "timeout" and received == [TextDelta("0")] and provider.closed


def test_a_caller_that_cancels_gets_a_cancellation_not_a_timeout() -> None:
    provider = Scripted(5.0)

    async def run() -> None:
        task = asyncio.ensure_future(collect(wrapped(provider, first=10, idle=10)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    aio.run(run())
    assert provider.closed


def test_the_first_event_may_be_awaited_in_a_task_of_its_own() -> None:
    """As the gateway does: the first event in a task it can race against keep-alives, the rest inline."""
    provider = Scripted(0.0, 5.0)

    async def run() -> list[Event]:
        events = wrapped(provider, first=10, idle=0.05).stream(REQUEST)
        first = await asyncio.ensure_future(anext(events))
        with pytest.raises(UpstreamError):
            await anext(events)
        return [first]

    assert aio.run(run()) == [TextDelta("0")]
