"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import JSONResponse, Response

from gateway.deps import GatewayDep

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(gateway: GatewayDep) -> JSONResponse:
    provider = gateway.provider
    if provider is None:
        return JSONResponse({"error": gateway.problem}, status_code=503)
    return JSONResponse({"status": "ready", "provider": provider.name, "model": provider.model})


@router.get("/metrics", response_model=None)
async def metrics(gateway: GatewayDep) -> Response:
    """Prometheus text format: requests, latency, streams in flight, tokens, failures, disconnects."""
    return Response(gateway.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
