"""Dependency aliases for the routes: the process's `Gateway`, handed in by the app factory."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.state import Gateway


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
