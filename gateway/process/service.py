"""What one gateway process holds for its whole life: the profiles, the pipeline, the metrics.

Profiles come from the environment alone, or from the `GATEWAY_CONFIG` file. `reload()` (on SIGHUP)
reads the file again and swaps the profiles in whole: a profile whose settings did not change stays the
same live object (its provider, its connections, its replies untouched); a changed one is built anew, and
new requests use it while replies in flight finish on the old one, whose provider clients close once their
last reply has ended, however long it runs. A file that does not load keeps the running profiles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from limits.aio.storage import Storage

from gateway.conversations.conversation import Conversations
from gateway.conversations.memory_store import MemoryStore
from gateway.conversations.redis_store import RedisStore
from gateway.conversations.store import ConversationStore
from gateway.errors import GatewayError
from gateway.guards.auth import Authenticator
from gateway.guards.ratelimit import make_storage
from gateway.pipeline.pipeline import Pipeline
from gateway.process.profiles_file import load_profiles
from gateway.process.settings import Settings
from gateway.profile import DEFAULT, Profile
from gateway.telemetry.metrics import Metrics
from providers.config import ConfigError

log = logging.getLogger("gateway")

PROFILE_PREFIX = "/p/"


@dataclass
class Service:
    settings: Settings
    metrics: Metrics
    pipeline: Pipeline
    storage: Storage
    profiles: dict[str, Profile]

    @classmethod
    def start(cls, settings: Settings, metrics: Metrics) -> Service:
        """Raises `ConfigError` when the profiles file does not load."""
        storage = make_storage(settings.redis_url)
        store: ConversationStore = (
            RedisStore.from_url(settings.redis_url)
            if settings.redis_url
            else MemoryStore(settings.max_conversations, settings.conversation_memory_bytes)
        )
        pipeline = Pipeline(
            Authenticator(tuple(settings.api_keys), settings.jwt_secret),
            metrics,
            Conversations(store, fail_open=settings.redis_failure == "open"),
            max_streams=settings.max_streams,
            log_content=settings.log_content,
        )
        profiles = build_profiles(settings, storage, metrics)
        return cls(settings, metrics, pipeline, storage, profiles)

    @property
    def default(self) -> Profile:
        return self.profiles[DEFAULT]

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            raise self.profile_missing(name) from None

    @staticmethod
    def profile_missing(name: str) -> GatewayError:
        return GatewayError(404, f"There is no profile named {name[:40]!r}.", kind="not_found")

    def profile_for_path(self, path: str) -> Profile:
        """The profile a path is served for: `/p/NAME/...`, else the default (unknown names too)."""
        if path.startswith(PROFILE_PREFIX):
            name = path[len(PROFILE_PREFIX) :].split("/", 1)[0]
            return self.profiles.get(name) or self.default
        return self.default

    async def reload(self) -> bool:
        """Swap in the profiles file as it is now; False (and one log line) when it does not load."""
        if not self.settings.config:
            log.warning("reload asked for, but GATEWAY_CONFIG names no file; nothing to reload")
            return False
        try:
            profiles = build_profiles(self.settings, self.storage, self.metrics, self.profiles)
            built = [profile for profile in profiles.values() if profile not in self.profiles.values()]
            broken = next((profile for profile in built if profile.problem), None)
            if broken is not None:
                for profile in built:
                    await profile.aclose()
                raise ConfigError("GATEWAY_CONFIG", f"profile {broken.name!r}: {broken.problem}")
        except ConfigError as exc:
            log.error("profiles not reloaded, the running ones stay: %s", exc)
            return False
        old, self.profiles = self.profiles, profiles
        for profile in old.values():
            if profile not in profiles.values():
                await profile.aclose()  # its clients close once its last reply has ended
        unchanged = sorted(name for name, profile in profiles.items() if profile in old.values())
        log.info("profiles reloaded: %s; unchanged: %s", ", ".join(sorted(profiles)), ", ".join(unchanged))
        return True

    async def aclose(self) -> None:
        await self.pipeline.aclose()
        for profile in self.profiles.values():
            await profile.aclose()


def build_profiles(
    settings: Settings, storage: Storage, metrics: Metrics, running: dict[str, Profile] | None = None
) -> dict[str, Profile]:
    """Every profile, live; one of `running` whose settings are unchanged is kept as it is. A profile
    whose provider is not configured answers 503 saying why (the CLI refuses to start with one; a reload
    refuses the file). Raises `ConfigError` for a file that does not load."""
    named = load_profiles(settings.config) if settings.config else {}
    named.setdefault(DEFAULT, settings)
    running = running or {}
    return {
        name: kept
        if (kept := running.get(name)) is not None and kept.settings == profile_settings
        else Profile.build(name, profile_settings, storage, metrics)
        for name, profile_settings in named.items()
    }
