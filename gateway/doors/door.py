"""A front door: how one dialect's requests are read and its replies and errors spelled, declared once.

Each door is one object in its own module; `gateway/doors/__init__.py` lists them all, and `serve.py`
makes their routes and runs the same turn for every one of them: profile -> caller -> admission -> read
-> pipeline -> deliver -> account. Adding a door is one module and one line in that list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gateway.delivery.spelling import ErrorSpelling, HttpSpelling
from gateway.policy.chat_input import ChatInput

if TYPE_CHECKING:
    from starlette.requests import Request

    from gateway.process.service import Service
    from gateway.profile import Profile


@dataclass(frozen=True, slots=True)
class HttpRead:
    """What an HTTP door read from one request."""

    chat_input: ChatInput
    stream: bool
    spelling: Callable[[str], HttpSpelling]  # the reply's spelling, given the model that answers
    # Whether a turn that names no conversation starts one, handed back as a cookie (Deep Chat's pages
    # cannot name one); an API client that names none keeps none.
    remember_unnamed: bool = True
    # A conversation the body names (the Responses API's response and conversation ids): it wins over
    # the connection's `X-Conversation-Id` and cookie.
    conversation_id: str | None = None


class HttpDoor(ErrorSpelling, Protocol):
    name: str
    paths: tuple[str, ...]  # its POST routes; a `{profile}` in one names the profile
    prefixes: tuple[str, ...]  # paths whose refusals it spells, even when no route matched

    async def locate(self, request: Request, service: Service) -> Profile:
        """The profile the request is for. May look at the body's bytes, never parse it: the caller is
        not yet admitted."""
        ...

    async def read(self, request: Request, profile: Profile) -> HttpRead: ...
