"""What one gateway process holds for its whole life: settings, the provider client, the guards."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from gateway.auth import Authenticator
from gateway.deepchat import DeepChatBody
from gateway.errors import ClientError, Unavailable
from gateway.metrics import Metrics
from gateway.observe import RequestRecord, observed
from gateway.policy import check_sizes, overrides
from gateway.ratelimit import RateLimiter, make_storage
from gateway.settings import Settings
from providers import REGISTRY
from providers.base import (
    ChatRequest,
    ConfigError,
    Event,
    ImagePart,
    Message,
    Provider,
    ProviderOptions,
    Usage,
)
from providers.resilient import ResilientProvider, RetryPolicy

log = logging.getLogger("gateway")


def build_provider(settings: Settings) -> Provider:
    """The configured provider and its fallbacks behind one retry policy.

    Raises `ConfigError` naming the variable to fix, for the primary or any fallback.
    """
    chain = [_build(settings.provider, settings.model, settings)]
    for entry in settings.fallback_providers:
        name, _, model = entry.partition(":")
        chain.append(_build(name.strip().lower(), model.strip() or None, settings))
    policy = RetryPolicy(
        retries=settings.retries,
        backoff=settings.retry_backoff,
        max_wait=settings.retry_max_wait,
        first_delta_timeout=settings.first_delta_timeout,
        idle_timeout=settings.idle_timeout,
    )
    return ResilientProvider(
        chain,
        policy,
        breaker_threshold=settings.breaker_failures,
        breaker_reset=settings.breaker_reset_seconds,
    )


def _build(name: str, model: str | None, settings: Settings) -> Provider:
    options = ProviderOptions(
        model=model,
        env_file=".env",
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
    return REGISTRY[name](options)


@dataclass
class Gateway:
    settings: Settings
    provider: Provider | None
    problem: str | None = None  # why there is no provider: shown by /readyz and every chat request
    metrics: Metrics = field(default_factory=Metrics)
    authenticator: Authenticator = field(init=False)
    limiter: RateLimiter = field(init=False)
    _background: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        settings = self.settings
        self.authenticator = Authenticator(tuple(settings.api_keys), settings.jwt_secret)
        self.limiter = RateLimiter(
            make_storage(settings.redis_url),
            requests_per_minute=settings.requests_per_minute,
            tokens_per_day=settings.tokens_per_day,
            on_storage_failure=settings.redis_failure,
        )

    @classmethod
    def start(cls, settings: Settings, metrics: Metrics) -> Gateway:
        try:
            return cls(settings, build_provider(settings), metrics=metrics)
        except ConfigError as exc:
            problem = f"The gateway is not configured: {exc}."
            log.error(problem)
            return cls(settings, None, problem, metrics=metrics)

    def ready_provider(self) -> Provider:
        if self.provider is None:
            raise Unavailable(self.problem or "The gateway has no provider.")
        return self.provider

    async def admit(self, token: str | None, client_address: str | None, record: RequestRecord | None) -> str:
        """Authenticate (when configured) and count the request; returns the visitor limits apply to."""
        if record is not None and self.provider is not None:
            record.provider, record.model = self.provider.name, self.provider.model
        identity = self.authenticator.identify(token)
        visitor = identity or f"ip:{client_address or 'unknown'}"
        await self.limiter.admit(visitor)
        return visitor

    def checked_for_provider(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        """Refuse attachments the provider cannot take, before calling it."""
        provider = self.ready_provider()
        if not provider.accepts_images and any(
            isinstance(part, ImagePart) for message in messages for part in message.parts
        ):
            raise ClientError(422, f"The {provider.name} provider cannot read images; send text only.")
        return messages

    def request_for(self, body: DeepChatBody, messages: tuple[Message, ...]) -> ChatRequest:
        """The provider request: the operator's settings, and the page's overrides where allowed."""
        settings = self.settings
        policy = settings.policy
        check_sizes([len(m.text or "") + len(m.html or "") for m in body.messages], policy)
        wanted = overrides(body, policy)
        system = "\n\n".join(text for text in (settings.system_prompt, wanted.system) if text) or None
        return ChatRequest(
            messages,
            system=system,
            model=wanted.model,
            max_tokens=wanted.max_tokens,
            temperature=wanted.temperature if wanted.temperature is not None else settings.temperature,
        )

    def reply(
        self, request: ChatRequest, visitor: str, record: RequestRecord | None
    ) -> AsyncGenerator[Event, None]:
        """The provider's events for `request`, observed for logs and metrics, and the tokens they used
        charged to `visitor`."""
        provider = self.ready_provider()
        if record is not None:
            record.provider, record.model = provider.name, request.model or provider.model
        events = observed(provider.stream(request), record, self.metrics, provider.name)
        return self._metered(events, visitor) if self.settings.tokens_per_day else events

    async def _metered(
        self, events: AsyncGenerator[Event, None], visitor: str
    ) -> AsyncGenerator[Event, None]:
        usage: Usage | None = None
        try:
            async for event in events:
                if type(event) is Usage:
                    usage = event  # providers report running totals: the last one counts
                yield event
        finally:
            await events.aclose()
            if usage is not None:
                tokens = (usage.input_tokens or 0) + (usage.output_tokens or 0)
                task = asyncio.ensure_future(self.limiter.spend_tokens(visitor, tokens))
                self._background.add(task)  # keep a reference until it is done
                task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        if self._background:
            await asyncio.wait(set(self._background), timeout=2)
        if self.provider is not None:
            await self.provider.aclose()
