"""The application factory: settings in, a FastAPI app with one provider client per process out."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from gateway import errors, logredact
from gateway.bodylimit import BodyLimit
from gateway.inflight import InFlight, TrackInFlight
from gateway.metrics import Metrics
from gateway.observe import RequestLog
from gateway.origin import RequireOrigin
from gateway.routes import chat, demo, health, openai_compat, ws
from gateway.settings import Settings
from gateway.state import Gateway


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logredact.install()
    configure_logging(settings.log_level)
    inflight = InFlight()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = Gateway.start(settings, metrics)
        app.state.gateway = gateway
        try:
            yield
        finally:
            await inflight.settle(seconds=2)  # cancelled replies send their "restarting" frame
            await gateway.aclose()

    # No /docs: its page loads assets from a CDN, which a closed network cannot reach.
    app = FastAPI(title="Deep Chat gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    errors.install(app)
    for module in (chat, ws, openai_compat, health, demo):
        app.include_router(module.router)
    if settings.cors_origins:
        wildcard = "*" in settings.cors_origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=not wildcard,  # credentials only ever go to explicitly named origins
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "accept", "x-request-id"],
            expose_headers=["retry-after", "x-request-id"],
            max_age=600,
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.require_origin:
        app.add_middleware(RequireOrigin, allowed=settings.cors_origins)
    app.add_middleware(TrackInFlight, inflight=inflight)
    app.add_middleware(RequestLog, metrics=metrics)
    return app


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
