"""Liveness, readiness and metrics for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import JSONResponse, Response

from gateway.routes.context import service_of

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse:
    """200 with the default profile's provider and model, or 503 naming what is missing."""
    profile = service_of(request).default
    if profile.provider is None:
        return JSONResponse({"error": profile.problem}, status_code=503)
    provider = profile.provider
    return JSONResponse({"status": "ready", "provider": provider.name, "model": provider.model})


@router.get("/metrics", response_model=None)
async def metrics(request: Request) -> Response:
    """Prometheus text format: requests, latency, streams in flight, tokens, failures, disconnects."""
    return Response(service_of(request).metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
