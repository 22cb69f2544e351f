"""Per-visitor limits: requests per minute and provider tokens per day.

Counters live in process memory, or in Redis when `REDIS_URL` is set so that every replica shares them.
The `limits` library does the counting: a sliding window counter for requests (this minute's count plus
the last minute's, weighted by how much of it is still in the window; its moving-window strategy keeps
one entry per request and, in memory, expires them with a thread hop per visitor, which kept an idle
worker busy with 30,000 visitors), a fixed daily window for tokens.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from gateway.errors import GatewayError, rate_limited, unavailable
from gateway.redis_url import limits_uri

log = logging.getLogger("gateway.ratelimit")


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
        self._fail_open = on_storage_failure == "open"
        # Each profile counts apart: one widget's visitors do not spend another's limits.
        self._requests_key = f"{namespace}:requests"
        self._tokens_key = f"{namespace}:tokens"

    async def admit(self, visitor: str) -> None:
        """Count one request for `visitor`; raise a 429 `GatewayError` if a limit is used up."""
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

    async def spend_tokens(self, visitor: str, tokens: int) -> None:
        if not self._tokens or tokens <= 0:
            return
        try:
            await self._token_window.hit(self._tokens, self._tokens_key, visitor, cost=tokens)
        except Exception as exc:  # the store failed (as above): the reply is already sent
            log.warning("could not record %d tokens for a visitor: %s", tokens, exc)

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
