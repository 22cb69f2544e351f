"""A profile: one widget's configuration made live — its provider chain, its limits and its policy.

The unprefixed routes serve the default profile, configured by the `GATEWAY_*` variables.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from limits.aio.storage import Storage

from domain.messages import ImagePart
from domain.provider import Provider
from domain.request import ChatRequest, unsupported_options
from domain.speech import Transcriber
from gateway.errors import bad_request, unavailable
from gateway.guards.ratelimit import RateLimiter
from gateway.policy.attachments import UploadLimits
from gateway.policy.policy import Policy
from gateway.process.settings import Settings
from gateway.telemetry.metrics import Metrics
from gateway.tools.config import check_can_call_tools
from providers import build_chain
from providers.config import ConfigError, ProviderOptions
from providers.resilient import RetryPolicy
from providers.transcription import build as build_transcription

log = logging.getLogger("gateway")

DEFAULT = "default"


@dataclass(eq=False)
class Profile:
    name: str
    settings: Settings
    provider: Provider | None
    problem: str | None  # why there is no provider: shown by /readyz and every chat request
    limiter: RateLimiter
    policy: Policy
    transcriber: Transcriber | None = None  # its provider's speech-to-text, where it has one

    @classmethod
    def build(cls, name: str, settings: Settings, storage: Storage, metrics: Metrics) -> Profile:
        limiter = RateLimiter(
            storage,
            namespace=name,
            requests_per_minute=settings.requests_per_minute,
            tokens_per_day=settings.tokens_per_day,
            on_storage_failure=settings.redis_failure,
        )
        try:
            provider = build_provider(settings)
            if settings.tools:
                # The profile's MCP tools run in a loop around its provider chain (closed with it, in
                # aclose). Imported here: the MCP SDK costs every process ~30 MB, needed only with tools.
                from gateway.tools.loop import with_tools

                provider = with_tools(provider, name, settings, metrics)
        except ConfigError as exc:
            problem = f"The gateway is not configured: {exc}."
            log.error(problem)
            return cls(name, settings, None, problem, limiter, policy_of(settings, settings.model or ""))
        profile = cls(name, settings, provider, None, limiter, policy_of(settings, provider.model))
        profile.transcriber = build_transcriber(settings)
        return profile

    def ready(self) -> Provider:
        if self.provider is None:
            raise unavailable(self.problem or "The gateway has no provider.")
        return self.provider

    def check_capabilities(self, request: ChatRequest, asked: tuple[str, ...]) -> None:
        """Refuse what the provider cannot honour, by name, before calling it: never a silent drop.
        `asked`: the options the caller chose (`Judged.asked`)."""
        provider = self.ready()
        if not provider.accepts_images and any(
            isinstance(part, ImagePart) for message in request.messages for part in message.parts
        ):
            raise bad_request(422, f"The {provider.name} provider cannot read images; send text only.")
        unsupported = unsupported_options(asked, provider.supports)
        if unsupported:
            names = ", ".join(unsupported)
            raise bad_request(
                400, f"The {provider.name} provider cannot honour {names}; remove it from the request."
            ).about(unsupported[0])

    async def aclose(self) -> None:
        """Close the provider's clients; each closes once its replies under way have ended, however long
        they run (a reload replaces a profile while it streams)."""
        if self.provider is not None:
            await self.provider.aclose()
        if self.transcriber is not None:
            await self.transcriber.aclose()


def policy_of(settings: Settings, model: str) -> Policy:
    return Policy(
        max_messages=settings.max_messages,
        max_message_chars=settings.max_message_chars,
        max_total_chars=settings.max_total_chars,
        uploads=UploadLimits(
            settings.max_files,
            settings.max_file_bytes,
            settings.max_text_file_bytes,
            settings.max_history_files,
        ),
        model=model,
        allowed_models=tuple(settings.allowed_models),
        max_client_temperature=settings.max_client_temperature,
        max_tokens=settings.max_tokens,
        client_system=settings.client_system or ("allow" if settings.allow_client_system else "ignore"),
        system_prompt=settings.system_prompt,
        temperature=settings.temperature,
    )


def build_provider(settings: Settings) -> Provider:
    """The profile's provider and its fallbacks behind one retry policy, from its settings.

    Raises `ConfigError` naming the variable to fix, for the primary or any fallback.
    """
    entries = [(settings.provider, _options(settings, settings.model, primary=True))]
    for entry in settings.fallback_providers:
        name, _, model = entry.partition(":")
        entries.append((name.strip().lower(), _options(settings, model.strip() or None, primary=False)))
    policy = RetryPolicy(
        retries=settings.retries,
        backoff=settings.retry_backoff,
        max_wait=settings.retry_max_wait,
        first_delta_timeout=settings.first_delta_timeout,
        idle_timeout=settings.idle_timeout,
    )
    chain = build_chain(
        entries,
        policy,
        breaker_threshold=settings.breaker_failures,
        breaker_reset=settings.breaker_reset_seconds,
    )
    check_can_call_tools(chain, settings.tools)  # here, so the CLI's start-up check refuses it too
    return chain


def _options(settings: Settings, model: str | None, *, primary: bool) -> ProviderOptions:
    return ProviderOptions(
        model=model,
        env_file=".env",
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        # The variables a profile names are its primary provider's; fallbacks read their own.
        api_key_env=settings.api_key_env if primary else None,
        base_url_env=settings.base_url_env if primary else None,
        max_connections=None,  # the gateway's own stream limit applies, not a hidden pool cap
    )


def build_transcriber(settings: Settings) -> Transcriber | None:
    """The primary provider's speech-to-text, under the retry policy its chat calls have."""
    policy = RetryPolicy(
        retries=settings.retries,
        backoff=settings.retry_backoff,
        max_wait=settings.retry_max_wait,
        first_delta_timeout=settings.first_delta_timeout,
    )
    options = _options(settings, None, primary=True)
    return build_transcription(settings.provider, options, settings.transcription_model, policy)
