"""Server-side conversations: what the provider is reminded of, and what is remembered of each turn.

Deep Chat sends only its newest message by default. With a conversation id, the provider receives the
stored conversation plus that message; a page that sends its whole history (or the last N messages) is
not repeated to the provider: what the page sent replaces the stored turns it overlaps. What is sent is
trimmed oldest-first to a character budget. Each turn stores the user's message (attachments as their
names, cut to `NAME_CHARS`) and the reply as the user saw it, partial if the user stopped it. What is stored
is bounded like what a page may send (the profile's max messages and max total characters): a turn appends,
and the store forgets the oldest messages beyond those bounds. Only what the turn needs is read: the newest
messages within the budget, and as many as the page's own history to compare with.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field, replace

from domain.events import Event, TextDelta
from domain.messages import Message, TextPart
from domain.request import ChatRequest
from gateway.conversations.store import Bounds, ConversationStore, StoredMessage, StoreUnavailable
from gateway.errors import bad_request, unavailable
from gateway.policy.attachments import shown_name
from gateway.process.settings import Settings

log = logging.getLogger("gateway.conversations")

COOKIE = "deepchat_conversation"
HEADER = "x-conversation-id"
_ID = re.compile(r"[A-Za-z0-9_-]{22,128}")
# An attachment's name as stored and sent again: longer names are cut, so a name cannot carry a payload
# past the character limits that count only message text.


def checked_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise bad_request(
            400,
            "A conversation id is 22 to 128 characters of A-Z, a-z, 0-9, '_' and '-' "
            "(make it unguessable, e.g. 16 random bytes in base64url).",
        )
    return value


def is_valid_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def new_id() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class Conversation:
    key: str
    id: str
    turns: list[StoredMessage]  # the newest stored: those within the budget, and at least the page's history
    made_here: bool  # the gateway chose the id: the response hands it to the browser as a cookie
    bounds: Bounds
    new: list[StoredMessage] = field(default_factory=list)  # what this turn adds to the store
    replaces: bool = False  # the page's history differs from ours: what it sent replaces what is stored


class Conversations:
    def __init__(self, store: ConversationStore, *, fail_open: bool) -> None:
        self.store = store
        self.fail_open = fail_open
        self._saving: set[asyncio.Task[None]] = set()

    @staticmethod
    def key(profile: str, subject: str, conversation_id: str) -> str:
        """Conversations of one profile and one subject: another subject's same id is another key."""
        owner = hashlib.sha256(subject.encode()).hexdigest()[:20]
        return f"{profile}:{owner}:{conversation_id}"

    async def open(
        self, key: str, conversation_id: str, *, made_here: bool, request: ChatRequest, settings: Settings
    ) -> Conversation:
        """The conversation as far as `request` needs it, under the profile's `settings`."""
        page_history = len(request.messages) - 1
        try:
            turns = await self.store.recent(key, settings.conversation_budget_chars, page_history)
        except StoreUnavailable as exc:
            self._unavailable(exc)
            turns = []
        bounds = Bounds(settings.max_messages, settings.max_total_chars)
        return Conversation(key, conversation_id, turns, made_here, bounds)

    async def load(self, key: str) -> list[StoredMessage]:
        """The whole stored conversation (bounded like what a page may send)."""
        messages, _ = await self.page(key, 0, 2**31)
        return messages

    async def page(self, key: str, index: int, size: int) -> tuple[list[StoredMessage], bool]:
        """Page `index` of `size` messages, 0 the newest, oldest first; and whether older ones remain."""
        try:
            return await self.store.page(key, index, size)
        except StoreUnavailable as exc:
            self._unavailable(exc)
            return [], False

    async def forget(self, key: str) -> None:
        """Raises a 503 `GatewayError` when the store is unavailable, whatever GATEWAY_REDIS_FAILURE says:
        answering a visitor's "forget this" with success while the conversation stays would be a lie."""
        try:
            await self.store.delete(key)
        except StoreUnavailable as exc:
            log.error("conversation store unavailable, could not forget a conversation: %s", exc)
            raise unavailable(
                "The conversation could not be forgotten: its store is unavailable; try again shortly."
            ) from exc

    def remind(self, conversation: Conversation, request: ChatRequest, budget_chars: int) -> ChatRequest:
        """`request` with the stored conversation in front of what the page sent, trimmed to the budget."""
        sent = [_turn(message) for message in request.messages]
        stored = conversation.turns
        page_history = sent[:-1]
        if page_history and _same(stored[len(stored) - len(page_history) :], page_history):
            earlier, conversation.new = stored[: len(stored) - len(page_history)], sent[-1:]
        elif page_history:
            # The page's history differs from ours: it knows best what the user sees.
            earlier, conversation.new, conversation.replaces = [], sent, True
        else:
            earlier, conversation.new = stored, sent
        messages = [_message(turn) for turn in earlier] + list(request.messages)
        turns = earlier + sent
        # Oldest first out, never the new message; a conversation starts with the user.
        total = sum(len(turn["text"]) for turn in turns)
        while len(messages) > 1 and (total > budget_chars or messages[0].role != "user"):
            total -= len(turns[0]["text"])
            messages.pop(0)
            turns.pop(0)
        return replace(request, messages=tuple(messages))

    async def recorded(
        self, events: AsyncGenerator[Event, None], conversation: Conversation, ttl: int
    ) -> AsyncGenerator[Event, None]:
        """The events unchanged; once the reply is over, the turn is stored with the reply as shown."""
        reply: list[str] = []
        try:
            async for event in events:
                if type(event) is TextDelta:
                    reply.append(event.text)
                yield event
        finally:
            await events.aclose()
            turns = conversation.new + ([{"role": "ai", "text": "".join(reply)}] if reply else [])
            task = asyncio.ensure_future(self._save(conversation, turns, ttl))
            self._saving.add(task)  # a stopped reply is saved too: the task outlives the cancellation
            task.add_done_callback(self._saving.discard)

    async def _save(self, conversation: Conversation, turns: list[StoredMessage], ttl: int) -> None:
        try:
            await self.store.append(
                conversation.key, turns, ttl, conversation.bounds, replace=conversation.replaces
            )
        except StoreUnavailable as exc:
            log.warning("could not store a conversation turn: %s", exc)

    def _unavailable(self, exc: StoreUnavailable) -> None:
        if self.fail_open:
            log.warning("conversation store unavailable, answering without memory: %s", exc)
            return
        log.error("conversation store unavailable, refusing the request: %s", exc)
        raise unavailable("Conversation memory is unavailable right now; try again shortly.") from exc

    async def aclose(self) -> None:
        if self._saving:
            await asyncio.wait(set(self._saving), timeout=2)
        await self.store.aclose()


def _turn(message: Message) -> StoredMessage:
    notes = [
        f"[attached: {shown_name(part.name)}]" for part in message.parts if not isinstance(part, TextPart)
    ]
    text = "\n".join([message.text, *notes]) if notes and message.text else message.text or "\n".join(notes)
    return {"role": "user" if message.role == "user" else "ai", "text": text}


def _message(turn: StoredMessage) -> Message:
    return Message("user" if turn["role"] == "user" else "assistant", (TextPart(turn["text"]),))


def _same(stored: list[StoredMessage], sent: list[StoredMessage]) -> bool:
    return len(stored) == len(sent) and all(
        a["role"] == b["role"] and a["text"].strip() == b["text"].strip()
        for a, b in zip(stored, sent, strict=True)
    )
