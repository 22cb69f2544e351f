"""Pure ASGI: CORS by profile. Each profile allows its own origins; paths outside `/p/NAME/` are the
default profile's. Starlette's CORSMiddleware does the work, one instance per profile."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.profile import Profile
from gateway.service import Service


class ProfileCORS:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._by_profile: WeakKeyDictionary[Profile, ASGIApp] = WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        service: Service = scope["app"].state.service
        profile = service.profile_for_path(scope["path"])
        handler = self._by_profile.get(profile)
        if handler is None:
            handler = self._by_profile[profile] = self._cors(profile.settings.cors_origins)
        await handler(scope, receive, send)

    def _cors(self, origins: list[str]) -> ASGIApp:
        if not origins:
            return self.app
        wildcard = "*" in origins
        return CORSMiddleware(
            self.app,
            allow_origins=origins,
            allow_credentials=not wildcard,  # credentials only ever go to explicitly named origins
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["authorization", "content-type", "accept", "x-request-id", "x-conversation-id"],
            expose_headers=["retry-after", "x-request-id", "x-conversation-id"],
            max_age=600,
        )
