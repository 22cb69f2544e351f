"""`GET /v1/models` and `GET /v1/models/{id}` through the official `openai` SDK, with auth off and on."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import openai
import pytest

from tests.gateway_process import GatewayProcess, start_gateway

API_KEY = "gw-models-key-7d1e"
JWT_SECRET = "models-jwt-secret-3a9b-long-enough-for-hs256"


def client(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def open_gateway() -> Iterator[GatewayProcess]:
    gateway = start_gateway({"GATEWAY_ALLOWED_MODELS": "echo,meta-llama/Llama-3.1-8B"})
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def guarded_gateway() -> Iterator[GatewayProcess]:
    gateway = start_gateway({"GATEWAY_API_KEYS": API_KEY, "GATEWAY_JWT_SECRET": JWT_SECRET})
    yield gateway
    gateway.stop()


def test_retrieve_answers_a_listed_model(open_gateway: GatewayProcess) -> None:
    models = client(open_gateway, "unused")
    listed = [model.id for model in models.models.list()]
    assert listed == ["echo", "meta-llama/Llama-3.1-8B"]
    for name in listed:
        model = models.models.retrieve(name)
        assert (model.id, model.object, model.owned_by) == (name, "model", "deepchat-gateway")


def test_retrieve_an_unknown_model_is_openais_404(open_gateway: GatewayProcess) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client(open_gateway, "unused").models.retrieve("gpt-4o")
    assert raised.value.status_code == 404
    body = raised.value.body
    assert isinstance(body, dict) and "gpt-4o" in body["message"]
    assert body["type"] == "invalid_request_error"


def test_with_auth_on_a_wrong_key_cannot_list_or_retrieve_models(guarded_gateway: GatewayProcess) -> None:
    wrong = client(guarded_gateway, "sk-not-a-key-of-this-gateway")
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    with pytest.raises(openai.AuthenticationError):
        wrong.models.retrieve("echo")


def test_with_auth_on_no_token_cannot_list_models(guarded_gateway: GatewayProcess) -> None:
    # The SDK refuses to send without a key, so a plain client asks.
    answer = httpx.get(guarded_gateway.url + "/v1/models", timeout=10)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["error"]["type"] == "authentication_error"


def test_with_auth_on_a_right_key_or_token_lists_and_retrieves(guarded_gateway: GatewayProcess) -> None:
    token = jwt.encode({"sub": "site", "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256")
    for key in (API_KEY, token):
        models = client(guarded_gateway, key)
        assert [model.id for model in models.models.list()] == ["echo"]
        assert models.models.retrieve("echo").id == "echo"
