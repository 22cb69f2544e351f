"""Every field a caller sends is used, refused by name, or named as left out: never dropped in silence."""

from __future__ import annotations

import pytest

from tests.inprocess.conftest import StartApp

pytestmark = pytest.mark.anyio


def completion(**extra: object) -> dict[str, object]:
    return {"model": "echo", "messages": [{"role": "user", "content": "hi"}], **extra}


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"modalities": ["text", "audio"]}, "audio"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"reasoning_effort": "high"}, "reasoning_effort"),
    ],
)
async def test_a_field_the_reply_cannot_honour_is_refused_by_name(
    gateway_app: StartApp, extra: dict[str, object], param: str
) -> None:
    async with gateway_app() as app:
        reply = await app.post("/v1/chat/completions", json_body=completion(**extra))
        error = (await reply.json())["error"]
        assert reply.status == 400
        assert error["param"] == param and error["type"] == "invalid_request_error"
        assert param in error["message"] or param == "audio"


async def test_fields_with_their_default_values_are_not_refused(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        reply = await app.post("/v1/chat/completions", json_body=completion(n=1, logprobs=False, store=None))
        assert reply.status == 200


async def test_a_client_system_message_is_named_when_it_is_left_out(gateway_app: StartApp) -> None:
    messages = [{"role": "system", "content": "Be a pirate."}, {"role": "user", "content": "hi"}]
    async with gateway_app() as app:
        reply = await app.post("/v1/chat/completions", json_body={"model": "echo", "messages": messages})
        assert reply.status == 200
        assert reply.headers["x-gateway-ignored"] == "system"
    async with gateway_app(GATEWAY_CLIENT_SYSTEM="refuse") as app:
        reply = await app.post("/v1/chat/completions", json_body={"model": "echo", "messages": messages})
        assert reply.status == 400
        assert "system prompt" in (await reply.json())["error"]["message"]
    async with gateway_app(GATEWAY_CLIENT_SYSTEM="allow") as app:
        reply = await app.post("/v1/chat/completions", json_body={"model": "echo", "messages": messages})
        assert reply.status == 200 and "x-gateway-ignored" not in reply.headers


async def test_a_page_prop_the_gateway_does_not_use_is_named(gateway_app: StartApp) -> None:
    body = {"messages": [{"role": "user", "text": "hi"}], "userId": 42, "bad\nname": 1}
    async with gateway_app() as app:
        reply = await app.post("/chat", json_body=body)
        assert reply.status == 200
        assert reply.headers["x-gateway-ignored"] == "userId, bad?name"
        assert await reply.json() == {"text": "hi"}
