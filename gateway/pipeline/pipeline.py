"""The one request pipeline every front door runs: admit, read, judge, remember, call, observe.

A front door (gateway/doors/) says only where its profile is named and how its request becomes a
`ChatInput`; the order of everything else lives here once. Who is asking, whether they may now and
whether the process has room are settled before a byte of the body is parsed; sizes are judged before
attachments are decoded; the provider is called last.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from domain.events import Event
from domain.request import ChatRequest
from gateway.conversations.conversation import Conversation, Conversations, new_id
from gateway.errors import unavailable
from gateway.guards.auth import Authenticator
from gateway.policy.attachments import heard
from gateway.policy.chat_input import ChatInput
from gateway.profile import Profile
from gateway.telemetry.metrics import Metrics
from gateway.telemetry.record import RequestRecord, observed

log = logging.getLogger("gateway.chat")


@dataclass(frozen=True, slots=True)
class Caller:
    token: str | None  # a bearer token, when the request carried one
    address: str | None  # the client address (the proxy's word for it, when trusted)
    record: RequestRecord
    conversation_id: str | None = None  # already checked by the door


class Read(Protocol):
    """What a door read from a request: at least the pipeline's input (doors keep more, for the reply)."""

    @property
    def chat_input(self) -> ChatInput: ...

    @property
    def remember_unnamed(self) -> bool:
        """Whether a turn that names no conversation starts one (and the door hands its id back)."""
        ...

    @property
    def conversation_id(self) -> str | None:
        """The conversation the body names (an API door's, e.g. a response's id), checked by the door;
        it wins over the connection's."""
        ...


ReadT = TypeVar("ReadT", bound=Read)


class StreamSlots:
    """Replies this process serves at once. A slot is taken at admission, before the body is read, and
    given back when the reply ends, so the limit holds exactly under any burst."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0

    def take(self) -> Slot:
        if self.taken >= self.limit:
            raise unavailable(
                f"The gateway is answering {self.limit} conversations at once, its limit; "
                "try again in a moment.",
                retry_after=1,
            )
        self.taken += 1
        return Slot(self)


@dataclass(eq=False, slots=True)
class Slot:
    slots: StreamSlots
    held: bool = True

    def release(self) -> None:
        """Idempotent: the reply's end and the delivery's cleanup may both give it back."""
        if self.held:
            self.held = False
            self.slots.taken -= 1


@dataclass(eq=False)
class Turn(Generic[ReadT]):
    """A reply under way: its events, what the door read, the request it became, its conversation."""

    profile: Profile
    read: ReadT
    request: ChatRequest
    events: AsyncGenerator[Event, None]
    slot: Slot
    conversation: Conversation | None = None
    ignored: tuple[str, ...] = ()  # what the caller sent that the request leaves out, by name
    # Settles what the turn reserved when its reply never ran (the client left before the first event).
    on_close: Callable[[], None] = lambda: None

    async def aclose(self) -> None:
        """End the reply however far it got: the provider call closes, the slot is given back."""
        try:
            await self.events.aclose()
        finally:
            self.slot.release()
            self.on_close()


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
        self.slots = StreamSlots(max_streams)
        self.log_content = log_content
        self._background: set[asyncio.Task[None]] = set()

    def visitor(self, caller: Caller) -> str:
        """Who is asking: the token's subject with auth on, else the address. Raises 401 for a bad token."""
        return self.authenticator.identify(caller.token) or f"ip:{caller.address or 'unknown'}"

    async def admit(self, profile: Profile, caller: Caller, visitor: str) -> Slot:
        """Whether `visitor` may now: the profile can serve, its limits allow, the process has room."""
        record = caller.record
        record.profile = profile.name
        provider = profile.ready()
        record.provider, record.model = provider.name, provider.model
        await profile.limiter.admit(visitor)
        return self.slots.take()

    async def start(
        self,
        caller: Caller,
        locate: Callable[[], Awaitable[Profile]],
        read: Callable[[Profile], Awaitable[ReadT]],
    ) -> Turn[ReadT]:
        """The reply to what `read` reads, for the profile `locate` names; raises `GatewayError` for any
        refusal before it. `locate` may look at the body's bytes (a door whose body names the profile),
        never parse it: `read` runs only once the caller is admitted."""
        visitor = self.visitor(caller)
        profile = await locate()
        slot = await self.admit(profile, caller, visitor)
        try:
            return await self._turn(profile, caller, visitor, await read(profile), slot)
        except BaseException:
            slot.release()
            raise

    async def _turn(
        self, profile: Profile, caller: Caller, visitor: str, read: ReadT, slot: Slot
    ) -> Turn[ReadT]:
        provider = profile.ready()
        request, ignored, asked = profile.policy.judge(read.chat_input)
        profile.check_capabilities(request, asked)
        request = await heard(request, provider, profile.transcriber)  # before memory: it keeps the words
        settings = profile.settings
        conversation = None
        named = read.conversation_id or caller.conversation_id
        if settings.conversations and (named or read.remember_unnamed):
            conversation_id = named or new_id()
            conversation = await self.conversations.open(
                self.conversation_key(profile, visitor, conversation_id),
                conversation_id,
                made_here=named is None,
                request=request,
                settings=settings,
            )
            request = self.conversations.remind(conversation, request, settings.conversation_budget_chars)
        record = caller.record
        record.model = request.model or provider.model
        if self.log_content:
            # repr: a newline in a message cannot forge a log line
            log.info("chat from %s: %r", caller.address, request.messages[-1].text)
        reserved = await profile.limiter.reserve_tokens(visitor, request)
        settled = False

        def settle(tokens: int) -> None:
            """Once a turn: the reservation becomes what the reply really cost (nothing, if it never ran)."""
            nonlocal settled
            if not settled:
                settled = True
                if tokens != reserved and settings.tokens_per_day:
                    self._spend(profile, visitor, reserved, tokens)

        def ended(record: RequestRecord) -> None:
            slot.release()
            settle((record.input_tokens or 0) + (record.output_tokens or 0))

        events = observed(provider.stream(request), record, self.metrics, ended)
        if conversation is not None:
            events = self.conversations.recorded(events, conversation, settings.conversation_ttl)
        return Turn(profile, read, request, events, slot, conversation, ignored, lambda: settle(0))

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
