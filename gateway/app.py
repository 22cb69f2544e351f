"""The application factory: settings in, a FastAPI app serving every front door through one pipeline.

Middleware, outermost first: the request log (it sees every answer), in-flight tracking (shutdown waits
for replies), CORS (by profile), the error boundary, then the refusals that need no route (origin, body
size). CORS sits outside every layer that can answer, so a browser on another origin can read each error.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from gateway.doors import HTTP_DOORS, door_for_path, openai_audio, serve, websocket
from gateway.errors import ErrorKind, GatewayError, describe_validation
from gateway.middleware.body_limit import BodyLimit
from gateway.middleware.cors import ProfileCORS
from gateway.middleware.error_boundary import ErrorBoundary
from gateway.middleware.inflight import InFlight, TrackInFlight
from gateway.middleware.request_log import RequestLog
from gateway.middleware.require_origin import RequireOrigin
from gateway.process.service import Service
from gateway.process.settings import Settings
from gateway.routes import conversations, demo, health, history, models
from gateway.telemetry import logredact
from gateway.telemetry.metrics import Metrics


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logredact.install()
    configure_logging(settings.log_level)
    inflight = InFlight()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = Service.start(settings, metrics)
        app.state.service = service
        loop = asyncio.get_running_loop()
        if settings.config:  # SIGHUP reloads the profiles file (each worker reloads its own)
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(service.reload()))
        try:
            yield
        finally:
            if settings.config:
                loop.remove_signal_handler(signal.SIGHUP)
            await inflight.settle(seconds=2)  # cancelled replies send their "restarting" frame
            await service.aclose()

    # No /docs: its page loads assets from a CDN, which a closed network cannot reach.
    app = FastAPI(title="Deep Chat gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    for door in HTTP_DOORS:
        app.router.routes.extend(serve.routes(door))
    app.router.routes.extend(openai_audio.routes())  # not a chat turn: a route of its own
    app.router.routes.extend(websocket.routes())
    for module in (history, conversations, models, health, demo):
        # Their routes as they are (no prefix, no shared dependencies): one flat list the request log
        # can name a request's route from. `include_router` would nest each router as a route of its own.
        app.router.routes.extend(module.router.routes)
    # add_middleware wraps what is there: the last added is the outermost.
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        timeout=settings.body_timeout,
        min_rate=settings.body_min_rate,
        deadline=settings.body_deadline,
    )
    if settings.require_origin:
        app.add_middleware(RequireOrigin)
    app.add_middleware(ErrorBoundary)
    app.add_middleware(ProfileCORS)
    app.add_middleware(TrackInFlight, inflight=inflight)
    # Probes, the schema and the demo page's files are not requests worth a log line; every other is.
    quiet = frozenset(
        [
            app.openapi_url or "",
            *(getattr(route, "path", "") for module in (health, demo) for route in module.router.routes),
        ]
    )
    app.add_middleware(RequestLog, metrics=metrics, routes=app.router.routes, quiet=quiet)
    return app


def install_error_handlers(app: FastAPI) -> None:
    """The router's failures as `GatewayError`s, spelled by the door of the path they happened on."""

    async def gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return serve.error_response(door_for_path(request.url.path), exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = str(exc.detail)
        if exc.status_code in (404, 405):
            message = f"{message}: {request.method} {request.url.path}"
        kind: ErrorKind = "not_found" if exc.status_code == 404 else "invalid_request"
        error = GatewayError(exc.status_code, message, kind=kind, headers=tuple((exc.headers or {}).items()))
        return serve.error_response(door_for_path(request.url.path), error)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        error = GatewayError(422, describe_validation(exc.errors()))
        return serve.error_response(door_for_path(request.url.path), error)

    app.add_exception_handler(GatewayError, gateway_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def configure_logging(level: str) -> None:
    """The gateway's own loggers: one JSON line per request on `gateway.access`, plain lines otherwise."""
    access = logging.getLogger("gateway.access")
    if not access.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
        access.propagate = False
    root = logging.getLogger("gateway")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        root.addHandler(handler)
        root.propagate = False
    root.setLevel(level.upper())
