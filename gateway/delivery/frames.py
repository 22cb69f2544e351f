"""The one shared generator: reply events in, wire frames out, for every front door.

Front doors (Deep Chat SSE and websocket, OpenAI chunks, ...) differ only in how they spell each event, an
error and the end (their `Spelling`); the control flow, and what happens on failure, lives here once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TypeVar

from domain.events import Event, TextDelta
from gateway.delivery.spelling import Spelling
from gateway.errors import as_gateway_error

log = logging.getLogger("gateway.stream")

Frame = TypeVar("Frame")


async def frames(
    events: AsyncGenerator[Event, None], fmt: Spelling[Frame], first: Event | None = None
) -> AsyncGenerator[Frame, None]:
    """Frames for a reply: one per delta, then the end; a failure ends it with an error frame instead.

    `first` is an event already taken from `events` (the caller peeked it to choose a status). Never
    raises for a failure: once a response has started, an error frame is the only honest way left to say
    something went wrong. Closing this generator closes the provider's stream.
    """
    async with aclosing(events):
        try:
            if first is not None:
                frame = _frame(first, fmt)
                if frame is not None:
                    yield frame
            async for event in events:
                if type(event) is TextDelta:  # the hot path: skip the general dispatch
                    yield fmt.text(event.text)
                else:
                    frame = _frame(event, fmt)
                    if frame is not None:
                        yield frame
        except Exception as exc:
            error = as_gateway_error(exc)
            log.warning("reply failed mid-stream: %s", error.message)
            yield fmt.error(error)
            return
    end = fmt.end()
    if end is not None:
        yield end


def _frame(event: Event, fmt: Spelling[Frame]) -> Frame | None:
    return fmt.text(event.text) if isinstance(event, TextDelta) else fmt.event(event)
