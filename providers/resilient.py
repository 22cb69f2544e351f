"""One retry policy, in one place: retries, timeouts, fallback and circuit breakers around providers.

A `ResilientProvider` is itself a `Provider`, so routes and the shared generator do not know it is there.
Everything here happens only before the first text delta reaches the client: once text has been sent, a
retry or a fallback would repeat or mix replies, so a failure then ends the stream with an error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field

from domain.events import Event, TextDelta, ToolCallDelta
from domain.provider import Provider
from domain.request import ChatRequest
from providers import errors
from providers.errors import UpstreamError
from providers.watchdog import Watchdog

log = logging.getLogger("gateway.resilience")

RETRYABLE = frozenset({"rate_limit", "overloaded", "server", "timeout", "connection", "protocol"})


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2  # extra attempts on the same provider
    backoff: float = 0.5  # seconds before the first retry; doubles each time, with full jitter
    max_wait: float = 10.0  # the longest `retry-after` worth waiting for; longer: move on at once
    first_delta_timeout: float = 60.0  # seconds from the call to the first event
    idle_timeout: float = 60.0  # seconds between events once the reply flows

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry `attempt` (0-based), or None when waiting is not worth it."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        return random.uniform(0, self.backoff * 2**attempt)


@dataclass
class CircuitBreaker:
    """Stops calling a provider after `threshold` failures in a row; lets one probe through after `reset`."""

    threshold: int = 5
    reset: float = 30.0
    failures: int = 0
    opened_at: float | None = field(default=None)
    probing: bool = False

    def allows(self) -> bool:
        if self.opened_at is None:
            return True
        if not self.probing and time.monotonic() - self.opened_at >= self.reset:
            self.probing = True  # half-open: this one call decides
            return True
        return False

    def succeeded(self) -> None:
        self.failures, self.opened_at, self.probing = 0, None, False

    def failed(self) -> None:
        self.failures += 1
        if self.probing or self.failures >= self.threshold:
            self.opened_at, self.probing = time.monotonic(), False


class ResilientProvider:
    def __init__(
        self, chain: Sequence[Provider], policy: RetryPolicy, *, breaker_threshold: int, breaker_reset: float
    ) -> None:
        self.chain = list(chain)
        self.policy = policy
        self.breakers = {id(p): CircuitBreaker(breaker_threshold, breaker_reset) for p in self.chain}
        primary = self.chain[0]
        self.name = primary.name
        self.model = primary.model
        self.accepts_images = all(provider.accepts_images for provider in self.chain)
        # What a fallback cannot honour is refused up front: a retry must not drop what the first accepted.
        self.supports = frozenset.intersection(*(provider.supports for provider in self.chain))

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        last: UpstreamError | None = None
        for index, provider in enumerate(self.chain):
            breaker = self.breakers[id(provider)]
            # A fallback gets the request without the primary's model choice.
            attempt_request = request if index == 0 else _without_model(request)
            for attempt in range(self.policy.retries + 1):
                if not breaker.allows():
                    last = UpstreamError(
                        f"The {provider.name} provider keeps failing; the gateway paused calls to it.",
                        kind="overloaded",
                    )
                    break
                sent_output = False
                try:
                    async for event in self._timed(provider, attempt_request):
                        if type(event) is TextDelta or type(event) is ToolCallDelta:
                            sent_output = True
                        yield event
                    breaker.succeeded()
                    return
                except UpstreamError as exc:
                    if exc.kind in RETRYABLE:  # the request's own faults say nothing of the provider
                        breaker.failed()
                    if sent_output or exc.kind not in RETRYABLE:
                        raise  # text or a call already reached the client, or trying again cannot help
                    last = exc
                    wait = self.policy.delay(attempt, exc.retry_after)
                    if attempt == self.policy.retries or wait is None:
                        break  # on to the next provider in the chain
                    log.info("%s failed (%s); retry %d in %.2fs", provider.name, exc.kind, attempt + 1, wait)
                    await asyncio.sleep(wait)
            if index + 1 < len(self.chain):
                log.warning(
                    "%s failed (%s); falling back to %s",
                    provider.name,
                    last and last.kind,
                    self.chain[index + 1].name,
                )
        assert last is not None
        raise last

    async def _timed(self, provider: Provider, request: ChatRequest) -> AsyncGenerator[Event, None]:
        """The provider's events, with a deadline for the first one and for each silence after it."""
        events = provider.stream(request)
        watchdog = Watchdog()
        timeout = self.policy.first_delta_timeout
        try:
            while True:
                watchdog.expect(timeout)
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if watchdog.timed_out():
                        raise errors.timeout(provider.name) from None
                    raise
                finally:
                    watchdog.done()
                timeout = self.policy.idle_timeout
                yield event
        finally:
            watchdog.close()
            await events.aclose()

    async def aclose(self) -> None:
        for provider in self.chain:
            await provider.aclose()


def _without_model(request: ChatRequest) -> ChatRequest:
    # Every other field goes along: the chain's `supports` promised each of them to the caller.
    return dataclasses.replace(request, model=None)
