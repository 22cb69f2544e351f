"""What one gateway process holds for its whole life: settings and the one provider client."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gateway.errors import ClientError, Unavailable
from gateway.settings import Settings
from providers import REGISTRY
from providers.base import ChatRequest, ConfigError, ImagePart, Message, Provider, ProviderOptions

log = logging.getLogger("gateway")


def build_provider(settings: Settings) -> Provider:
    """The configured provider; raises `ConfigError` naming the variable to fix."""
    options = ProviderOptions(
        model=settings.model,
        env_file=".env",
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
    return REGISTRY[settings.provider](options)


@dataclass
class Gateway:
    settings: Settings
    provider: Provider | None
    problem: str | None = None  # why there is no provider: shown by /readyz and every chat request

    @classmethod
    def start(cls, settings: Settings) -> Gateway:
        try:
            return cls(settings, build_provider(settings))
        except ConfigError as exc:
            problem = f"The gateway is not configured: {exc}."
            log.error(problem)
            return cls(settings, None, problem)

    def ready_provider(self) -> Provider:
        if self.provider is None:
            raise Unavailable(self.problem or "The gateway has no provider.")
        return self.provider

    def checked_for_provider(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        """Refuse attachments the provider cannot take, before calling it."""
        provider = self.ready_provider()
        if not provider.accepts_images and any(
            isinstance(part, ImagePart) for message in messages for part in message.parts
        ):
            raise ClientError(422, f"The {provider.name} provider cannot read images; send text only.")
        return messages

    def request_for(self, messages: tuple[Message, ...]) -> ChatRequest:
        settings = self.settings
        return ChatRequest(
            messages,
            system=settings.system_prompt,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
        )

    async def aclose(self) -> None:
        if self.provider is not None:
            await self.provider.aclose()
