"""Pure ASGI: CORS by profile. Each profile allows its own origins; paths outside `/p/NAME/` are the
default profile's. Starlette's CORSMiddleware does the work, one instance per profile and kind of route.

The OpenAI-compatible routes (`/v1/...`) also let through what the official browser SDKs send: OpenAI's and
Anthropic's (`dangerouslyAllowBrowser`) add `x-stainless-*` headers describing the client (os, arch,
runtime, package version, retry count, timeout, helper method, and more in each release), and Anthropic's
its own `x-api-key` and `anthropic-*` headers. Starlette only knows a fixed list of header names, so the
`x-stainless-` family is allowed by prefix.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.process.service import Service
from gateway.profile import Profile

DEEP_CHAT_HEADERS = ("authorization", "content-type", "accept", "x-request-id", "x-conversation-id")
SDK_HEADERS = (
    *DEEP_CHAT_HEADERS,
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
    "openai-organization",
    "openai-project",
    "openai-beta",
    "idempotency-key",
)
SDK_HEADER_PREFIX = "x-stainless-"


class ProfileCORS:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._by_profile: WeakKeyDictionary[Profile, tuple[ASGIApp, ASGIApp]] = WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        service: Service = scope["app"].state.service
        profile = service.profile_for_path(scope["path"])
        handlers = self._by_profile.get(profile)
        if handlers is None:
            handlers = self._by_profile[profile] = self._cors(profile.settings.cors_origins)
        deep_chat, openai_compatible = handlers
        path = scope["path"]
        sdk_route = path.startswith("/v1/") or (path.startswith("/p/") and "/v1/" in path)
        await (openai_compatible if sdk_route else deep_chat)(scope, receive, send)

    def _cors(self, origins: list[str]) -> tuple[ASGIApp, ASGIApp]:
        if not origins:
            return self.app, self.app
        return (
            self._allow(CORSMiddleware, origins, DEEP_CHAT_HEADERS),
            self._allow(SDKHeadersCORS, origins, SDK_HEADERS),
        )

    def _allow(self, kind: type[CORSMiddleware], origins: list[str], headers: tuple[str, ...]) -> ASGIApp:
        return kind(
            self.app,
            allow_origins=origins,
            allow_credentials="*" not in origins,  # credentials only ever go to explicitly named origins
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=headers,
            expose_headers=["retry-after", "x-request-id", "x-conversation-id", "x-gateway-ignored"],
            max_age=600,
        )


class SDKHeadersCORS(CORSMiddleware):
    """Starlette's CORS, with every `x-stainless-*` header a preflight asks for allowed too."""

    def preflight_response(self, request_headers: Headers) -> Response:
        requested = request_headers.get("access-control-request-headers")
        names = [name.strip().lower() for name in (requested or "").split(",") if name.strip()]
        family = [name for name in names if name.startswith(SDK_HEADER_PREFIX)]
        if not family:
            return super().preflight_response(request_headers)
        # Starlette judges the other names; the family's are added to what its answer allows.
        judged = request_headers.mutablecopy()
        others = [name for name in names if not name.startswith(SDK_HEADER_PREFIX)]
        if others:
            judged["access-control-request-headers"] = ", ".join(others)
        else:
            del judged["access-control-request-headers"]
        response = super().preflight_response(Headers(raw=judged.raw))
        if response.status_code == 200:
            allowed = response.headers.get("access-control-allow-headers")
            response.headers["access-control-allow-headers"] = ", ".join(filter(None, [allowed, *family]))
        return response
