"""Liveness, readiness and metrics for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import JSONResponse, Response

from gateway.connection import service_of
from gateway.profile import Profile

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse:
    """200 with the default profile's provider and model, or 503 naming what is missing; with a
    profiles file, each profile's state too (503 while any of them cannot serve)."""
    service = service_of(request)
    default = service.default
    body: dict[str, Any] = (
        {"status": "ready", "provider": default.provider.name, "model": default.provider.model}
        if default.provider is not None
        else {"error": default.problem}
    )
    if service.settings.config:
        body["profiles"] = {name: _state(profile) for name, profile in service.profiles.items()}
        broken = next((profile for profile in service.profiles.values() if profile.problem), None)
        if broken is not None:
            body = {"error": f"profile {broken.name!r}: {broken.problem}", **body}
            body.pop("status", None)
    return JSONResponse(body, status_code=503 if "error" in body else 200)


def _state(profile: Profile) -> dict[str, str | None]:
    if profile.provider is None:
        return {"status": "not configured", "error": profile.problem}
    return {"status": "ready", "provider": profile.provider.name, "model": profile.provider.model}


@router.get("/metrics", response_model=None)
async def metrics(request: Request) -> Response:
    """Prometheus text format: requests, latency, streams in flight, tokens, failures, disconnects."""
    return Response(service_of(request).metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
