"""What one gateway process holds for its whole life: the profiles, the pipeline, the metrics."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import GatewayError
from gateway.guards.auth import Authenticator
from gateway.guards.ratelimit import make_storage
from gateway.pipeline.pipeline import Pipeline
from gateway.profile import DEFAULT, Profile
from gateway.settings import Settings
from gateway.telemetry.metrics import Metrics


@dataclass
class Service:
    settings: Settings
    metrics: Metrics
    pipeline: Pipeline
    profiles: dict[str, Profile]

    @classmethod
    def start(cls, settings: Settings, metrics: Metrics) -> Service:
        storage = make_storage(settings.redis_url)
        pipeline = Pipeline(
            Authenticator(tuple(settings.api_keys), settings.jwt_secret),
            metrics,
            max_streams=settings.max_streams,
            log_content=settings.log_content,
        )
        return cls(settings, metrics, pipeline, {DEFAULT: Profile.build(DEFAULT, settings, storage)})

    @property
    def default(self) -> Profile:
        return self.profiles[DEFAULT]

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            raise GatewayError(404, f"There is no profile named {name[:40]!r}.", kind="not_found") from None

    async def aclose(self) -> None:
        await self.pipeline.aclose()
        for profile in self.profiles.values():
            await profile.aclose()
