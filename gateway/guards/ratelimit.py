"""Per-visitor limits: requests per minute and provider tokens per day.

Counters live in process memory, or in Redis when `REDIS_URL` is set so that every replica shares them.
The `limits` library does the counting: a sliding window counter for requests (this minute's count plus
the last minute's, weighted by how much of it is still in the window; its moving-window strategy keeps
one entry per request and, in memory, expires them with a thread hop per visitor, which kept an idle
worker busy with 30,000 visitors), a fixed daily window for tokens.

A reply's tokens are known only once it has ended, so a reply reserves its estimate in the daily window
before the provider is called (`reserve_tokens`) and settles to the real count when it ends
(`settle_tokens`): replies that start together see each other's reservations, and cannot all pass a
budget that only the first of them fits in. A reservation is refused once the visitor's budget is spent,
counting reservations; the last reply admitted may cross the budget by its own size, as one reply after
another could.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Literal

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from domain.messages import FilePart, TextPart
from domain.request import ChatRequest
from gateway.errors import GatewayError, rate_limited, unavailable
from gateway.process.redis_url import limits_uri

log = logging.getLogger("gateway.ratelimit")

# Whether the store failed while this request was admitted (a request, or a websocket turn, runs in one
# task): its reservation is then not tried, since a store that does not answer costs a timeout per call,
# and the calls of one request come one after another before its reply.
_store_failed_at_admission: ContextVar[bool] = ContextVar("store_failed_at_admission", default=False)

# A reply's length when neither the operator (GATEWAY_MAX_TOKENS) nor the request sets max_tokens.
DEFAULT_REPLY_TOKENS = 1024
CHARACTERS_PER_TOKEN = 4  # a rough mean over English text and code; the real count settles it


def estimated_tokens(request: ChatRequest) -> int:
    """What a reply to `request` may cost at most: its prompt, roughly, and the longest reply asked for."""
    characters = len(request.system or "") + sum(
        len(part.text)
        for message in request.messages
        for part in message.parts
        if isinstance(part, TextPart | FilePart)
    )
    return -(-characters // CHARACTERS_PER_TOKEN) + (request.max_tokens or DEFAULT_REPLY_TOKENS)


def make_storage(redis_url: str | None) -> Storage:
    if not redis_url:
        return MemoryStorage()
    uri = limits_uri(redis_url)
    storage: Storage = storage_from_string(uri, implementation="redispy", wrap_exceptions=True)  # type: ignore[assignment]
    return storage


class RateLimiter:
    def __init__(
        self,
        storage: Storage,
        *,
        namespace: str,
        requests_per_minute: int,
        tokens_per_day: int,
        on_storage_failure: Literal["open", "closed"],
    ) -> None:
        self._requests = RateLimitItemPerMinute(requests_per_minute) if requests_per_minute else None
        self._tokens = RateLimitItemPerDay(tokens_per_day) if tokens_per_day else None
        self._request_window = SlidingWindowCounterRateLimiter(storage)
        self._token_window = FixedWindowRateLimiter(storage)
        self._storage = storage
        self._fail_open = on_storage_failure == "open"
        # Each profile counts apart: one widget's visitors do not spend another's limits.
        self._requests_key = f"{namespace}:requests"
        self._tokens_key = f"{namespace}:tokens"

    async def admit(self, visitor: str) -> None:
        """Count one request for `visitor`; raise a 429 `GatewayError` if a limit is used up."""
        _store_failed_at_admission.set(False)
        try:
            if self._tokens and not await self._token_window.test(self._tokens, self._tokens_key, visitor):
                raise rate_limited(
                    "This visitor's daily token budget is used up; try again tomorrow.",
                    await self._retry_after(self._token_window, self._tokens, visitor),
                )
            if self._requests and not await self._request_window.hit(
                self._requests, self._requests_key, visitor
            ):
                raise rate_limited(
                    f"Too many requests: at most {self._requests.amount} a minute.",
                    await self._retry_after(self._request_window, self._requests, visitor),
                )
        except GatewayError:
            raise  # the 429 itself
        except Exception as exc:  # the store failed, whatever it raised (why: gateway/redis_url.py)
            self._storage_failed(exc)
            _store_failed_at_admission.set(True)  # failing open: the request goes on, uncounted

    async def reserve_tokens(self, visitor: str, request: ChatRequest) -> int:
        """Hold what a reply to `request` may cost in `visitor`'s daily budget; the tokens held, to
        settle with `settle_tokens` when the reply ends. Raises a 429 `GatewayError` when the budget is
        already spent."""
        if not self._tokens or _store_failed_at_admission.get():
            return 0
        tokens = estimated_tokens(request)
        try:
            held = await self._add_tokens(visitor, tokens)
            if held - tokens < self._tokens.amount:
                return tokens
            await self._add_tokens(visitor, -tokens)  # not ours to hold: give it back
            raise rate_limited(
                "This visitor's daily token budget is used up; try again tomorrow.",
                await self._retry_after(self._token_window, self._tokens, visitor),
            )
        except GatewayError:
            raise  # the 429 itself
        except Exception as exc:  # the store failed (as in `admit`)
            self._storage_failed(exc)
            return 0

    async def settle_tokens(self, visitor: str, reserved: int, used: int) -> None:
        """A reply has ended having `used` tokens of the `reserved` ones: count it at its real size."""
        if not self._tokens or used == reserved:
            return
        try:
            await self._add_tokens(visitor, used - reserved)
        except Exception as exc:  # the store failed (as above): the reply is already sent
            log.warning("could not record %d tokens for a visitor: %s", used, exc)

    async def _add_tokens(self, visitor: str, tokens: int) -> int:
        """The visitor's tokens this day once `tokens` (negative: given back) are added, in one step."""
        assert self._tokens is not None
        key = self._tokens.key_for(self._tokens_key, visitor)
        total: int = await self._storage.incr(key, self._tokens.get_expiry(), amount=tokens)
        return total

    async def _retry_after(
        self,
        window: SlidingWindowCounterRateLimiter | FixedWindowRateLimiter,
        item: RateLimitItem,
        visitor: str,
    ) -> float:
        kind = self._tokens_key if window is self._token_window else self._requests_key
        stats = await window.get_window_stats(item, kind, visitor)
        return max(1.0, stats.reset_time - time.time())

    def _storage_failed(self, exc: Exception) -> None:
        if self._fail_open:
            log.warning("rate limit storage unavailable, letting the request through: %s", exc)
            return
        log.error("rate limit storage unavailable, refusing the request: %s", exc)
        raise unavailable("Rate limiting is unavailable right now; try again shortly.") from exc
