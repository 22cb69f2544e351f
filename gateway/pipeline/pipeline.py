"""The one request pipeline every front door runs: admit, read, judge, call, observe.

A front door (Deep Chat over HTTP, its websocket mode, the OpenAI dialect) only says how its request
becomes a `ChatInput` (the `read` step) and how the reply's frames and errors are spelled. The order
matters: who is asking and whether they may is settled before the body is read; sizes are judged before
attachments are decoded; the provider is called last.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass

from domain.events import Event
from domain.messages import ChatRequest
from gateway.conversations.memory import Conversation, Conversations, new_id
from gateway.errors import unavailable
from gateway.guards.auth import Authenticator
from gateway.pipeline.chat_input import ChatInput
from gateway.pipeline.policy import Policy
from gateway.profile import Profile
from gateway.telemetry.metrics import Metrics
from gateway.telemetry.record import RequestRecord, observed

log = logging.getLogger("gateway.chat")

Reader = Callable[[Policy], Awaitable[ChatInput]]


@dataclass(frozen=True, slots=True)
class Caller:
    token: str | None  # a bearer token, when the request carried one
    address: str | None  # the client address (the proxy's word for it, when trusted)
    record: RequestRecord
    conversation_id: str | None = None  # already checked by the door


@dataclass(frozen=True, slots=True)
class Turn:
    """A reply under way: its events, the request that asked for it, and its conversation if any."""

    request: ChatRequest
    events: AsyncGenerator[Event, None]
    conversation: Conversation | None = None


class Pipeline:
    def __init__(
        self,
        authenticator: Authenticator,
        metrics: Metrics,
        conversations: Conversations,
        *,
        max_streams: int,
        log_content: bool,
    ) -> None:
        self.authenticator = authenticator
        self.metrics = metrics
        self.conversations = conversations
        self.max_streams = max_streams
        self.log_content = log_content
        self.streams = 0  # replies under way in this process
        self._background: set[asyncio.Task[None]] = set()

    async def admit(self, profile: Profile, caller: Caller) -> str:
        """Who is asking, and whether they may now: the visitor that limits apply to."""
        record = caller.record
        record.profile = profile.name
        provider = profile.ready()
        record.provider, record.model = provider.name, provider.model
        visitor = self.authenticator.identify(caller.token) or f"ip:{caller.address or 'unknown'}"
        await profile.limiter.admit(visitor)
        if self.streams >= self.max_streams:
            raise unavailable(
                f"The gateway is answering {self.max_streams} conversations at once, its limit; "
                "try again in a moment.",
                retry_after=1,
            )
        return visitor

    async def start(self, profile: Profile, caller: Caller, read: Reader) -> Turn:
        """The reply to the request `read` produces; raises `GatewayError` for any refusal before it."""
        visitor = await self.admit(profile, caller)
        provider = profile.ready()
        request = profile.policy.request_for(await read(profile.policy))
        profile.check_capabilities(request)
        settings = profile.settings
        conversation = None
        if settings.conversations:
            conversation_id = caller.conversation_id or new_id()
            conversation = await self.conversations.open(
                self.conversation_key(profile, visitor, conversation_id),
                conversation_id,
                made_here=caller.conversation_id is None,
            )
            request = self.conversations.remind(conversation, request, settings.conversation_budget_chars)
        record = caller.record
        record.model = request.model or provider.model
        if self.log_content:
            # repr: a newline in a message cannot forge a log line
            log.info("chat from %s: %r", caller.address, request.messages[-1].text)
        reserved = await profile.limiter.reserve_tokens(visitor, request)

        def started() -> None:
            self.streams += 1
            profile.stream_started()

        def ended(record: RequestRecord) -> None:
            self.streams -= 1
            profile.stream_ended()
            tokens = (record.input_tokens or 0) + (record.output_tokens or 0)
            if tokens != reserved and profile.settings.tokens_per_day:
                self._spend(profile, visitor, reserved, tokens)

        events = observed(provider.stream(request), record, self.metrics, started, ended)
        if conversation is not None:
            events = self.conversations.recorded(events, conversation, settings.conversation_ttl)
        return Turn(request, events, conversation)

    def conversation_key(self, profile: Profile, visitor: str, conversation_id: str) -> str:
        """With auth on, a conversation belongs to the token's subject; without it, the id alone names it."""
        subject = visitor if self.authenticator.enabled else "-"
        return Conversations.key(profile.name, subject, conversation_id)

    def _spend(self, profile: Profile, visitor: str, reserved: int, tokens: int) -> None:
        task = asyncio.ensure_future(profile.limiter.settle_tokens(visitor, reserved, tokens))
        self._background.add(task)  # keep a reference until it is done
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        if self._background:
            await asyncio.wait(set(self._background), timeout=2)
        await self.conversations.aclose()
