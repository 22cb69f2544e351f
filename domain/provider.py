"""The one small interface every provider adapter implements, as the gateway sees it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

from domain.events import Event
from domain.request import ChatRequest


class Provider(Protocol):
    """A configured provider: one long-lived client, shared by every request of the process."""

    name: str
    model: str
    accepts_images: bool
    # The optional request fields it honours (`domain.request.requested_options` names them); the gateway
    # refuses a request that uses any other, so none is dropped silently.
    supports: frozenset[str]

    def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        """Yield events until the reply ends; raise `UpstreamError` on any failure.

        Closing the generator early (the client went away) must close the upstream connection.
        """
        ...

    async def aclose(self) -> None: ...
