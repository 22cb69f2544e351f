"""`GET /v1/models` and `GET /v1/models/{id}`: what an OpenAI client may name as its `model`.

Behind the same auth as the chat endpoints: a client that checks its key by listing models (as many do)
must be told when the key is wrong.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.connection import caller_of, service_of
from gateway.errors import GatewayError
from gateway.process.service import Service
from gateway.profile import DEFAULT

router = APIRouter()


def model_names(service: Service) -> list[str]:
    """Every profile by name, and the models the default profile allows; the configured model first."""
    policy = service.default.policy
    profiles = [name for name in service.profiles if name != DEFAULT]
    return list(dict.fromkeys([policy.model, *policy.allowed_models, *profiles]))


def model_object(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "deepchat-gateway"}


def authenticate(request: Request) -> Service:
    service = service_of(request)
    service.pipeline.authenticator.identify(caller_of(request).token)  # a 401 when auth is on and it fails
    return service


async def list_models(request: Request) -> Response:
    service = authenticate(request)
    created = int(time.time())
    return JSONResponse(
        {"object": "list", "data": [model_object(name, created) for name in model_names(service)]}
    )


async def retrieve_model(request: Request) -> Response:
    service = authenticate(request)
    name: str = request.path_params["model"]
    if name not in model_names(service):
        raise GatewayError(
            404, f"The model {name[:100]!r} does not exist on this gateway; GET /v1/models lists them."
        )
    return JSONResponse(model_object(name, int(time.time())))


# Plain Starlette routes, as the other doors are (see routes/chat.py). `:path`, since model names such as
# `meta-llama/Llama-3.1-8B` hold a slash and the SDK sends it unescaped.
router.add_route("/v1/models", list_models, methods=["GET"])
router.add_route("/v1/models/{model:path}", retrieve_model, methods=["GET"])
