"""The Responses and Messages doors in process: their refusals in their own shapes, on every path they
own and whoever refuses (the body limit, auth, the router, the profile), and their accounting."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.inprocess.conftest import StartApp

pytestmark = pytest.mark.anyio

JSON = [("content-type", "application/json")]
MESSAGE = {"model": "echo", "max_tokens": 20, "messages": [{"role": "user", "content": "one two"}]}
RESPONSE = {"model": "echo", "input": "one two"}


def anthropic_error(body: dict[str, object], kind: str) -> None:
    assert body["type"] == "error"
    error = body["error"]
    assert isinstance(error, dict) and error["type"] == kind and error["message"]


def openai_error(body: dict[str, object]) -> None:
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"message", "type", "param", "code"}


@pytest.mark.parametrize("path", ["/v1/messages/batches", "/p/nobody/v1/messages"])
async def test_a_messages_path_refusal_is_anthropics(gateway_app: StartApp, path: str) -> None:
    async with gateway_app() as app:
        reply = await app.post(path, json_body=MESSAGE)
        assert reply.status == 404
        anthropic_error(await reply.json(), "not_found_error")


async def test_the_body_limit_speaks_each_doors_dialect(gateway_app: StartApp) -> None:
    big = b"x" * 2048
    async with gateway_app(GATEWAY_MAX_BODY_BYTES="1024") as app:
        messages = await app.post("/v1/messages", body=big, headers=JSON)
        assert messages.status == 413
        anthropic_error(await messages.json(), "request_too_large")
        responses = await app.post("/v1/responses", body=big, headers=JSON)
        assert responses.status == 413
        openai_error(await responses.json())


async def test_a_caller_without_a_token_is_refused_before_its_body_arrives(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_API_KEYS="k-1") as app:
        messages = await app.open("POST", "/v1/messages", headers=JSON, more_body=True).started()
        assert messages.status == 401
        anthropic_error(await messages.json(), "authentication_error")
        responses = await app.open("POST", "/v1/responses", headers=JSON, more_body=True).started()
        assert responses.status == 401
        assert (await responses.json())["error"]["type"] == "authentication_error"
        # `x-api-key` is the Anthropic door's; elsewhere the token is a bearer token.
        key = [("x-api-key", "k-1")]
        assert (await app.post("/v1/messages", json_body=MESSAGE, headers=key)).status == 200
        assert (await app.post("/v1/responses", json_body=RESPONSE, headers=key)).status == 401


async def test_a_gateway_that_cannot_serve_is_overloaded_in_anthropics_words(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_PROVIDER="openai") as app:  # no key: the profile cannot serve
        messages = await app.post("/v1/messages", json_body=MESSAGE)
        assert messages.status == 529
        anthropic_error(await messages.json(), "overloaded_error")
        responses = await app.post("/v1/responses", json_body=RESPONSE)
        assert responses.status == 503
        openai_error(await responses.json())


async def test_a_callers_system_text_follows_the_policy(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        with_instructions = await app.post(
            "/v1/responses", json_body={**RESPONSE, "instructions": "Be a pirate."}
        )
        assert with_instructions.headers["x-gateway-ignored"] == "system"
        with_system = await app.post("/v1/messages", json_body={**MESSAGE, "system": "Be a pirate."})
        assert with_system.headers["x-gateway-ignored"] == "system"
    async with gateway_app(GATEWAY_CLIENT_SYSTEM="refuse") as app:
        refused = await app.post(
            "/v1/messages", json_body={**MESSAGE, "system": [{"type": "text", "text": "x"}]}
        )
        assert refused.status == 400
        anthropic_error(await refused.json(), "invalid_request_error")


async def test_conversations_off_says_how_to_turn_them_on(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        for reply in (
            await app.post("/v1/conversations", json_body={}),
            await app.post("/v1/responses", json_body={**RESPONSE, "conversation": "conv_" + "a" * 48}),
        ):
            assert reply.status == 400
            assert "GATEWAY_CONVERSATIONS=true" in (await reply.json())["error"]["message"]


async def test_both_doors_are_counted(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        await (await app.post("/v1/messages", json_body=MESSAGE)).body()
        await (await app.post("/v1/responses", json_body={**RESPONSE, "stream": True})).body()
        metrics = (await (await app.get("/metrics")).body()).decode()
        for route in ("/v1/messages", "/v1/responses"):
            labels = f'profile="default",provider="echo",route="{route}",status="200"'
            assert f"gateway_requests_total{{{labels}}} 1.0" in metrics


async def test_a_profile_is_named_by_path_or_by_model(gateway_app: StartApp, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[profiles.shop]\nprovider = "echo"\nrequests_per_minute = 1\n')
    async with gateway_app(GATEWAY_CONFIG=str(profiles)) as app:
        assert (await app.post("/p/shop/v1/messages", json_body=MESSAGE)).status == 200
        limited = await app.post("/v1/messages", json_body={**MESSAGE, "model": "shop"})
        assert limited.status == 429
        anthropic_error(await limited.json(), "rate_limit_error")
        assert (await app.post("/v1/messages", json_body=MESSAGE)).status == 200


async def test_a_profiles_conversations_are_its_own(gateway_app: StartApp, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[profiles.shop]\nprovider = "echo"\nconversations = true\n')
    async with gateway_app(GATEWAY_CONFIG=str(profiles), GATEWAY_CONVERSATIONS="true") as app:
        made = await app.post("/p/shop/v1/conversations", json_body={})
        conversation = (await made.json())["id"]
        reply = await app.post("/p/shop/v1/responses", json_body={**RESPONSE, "conversation": conversation})
        assert (await reply.json())["conversation"] == {"id": conversation}
        items = await app.get(f"/p/shop/v1/conversations/{conversation}/items?order=asc")
        listed = await items.json()
        assert [(item["role"], item["content"][0]["text"]) for item in listed["data"]] == [
            ("user", "one two"),
            ("assistant", "one two"),
        ]
        assert listed["object"] == "list" and listed["has_more"] is False
        assert listed["first_id"] == listed["data"][0]["id"]
        elsewhere = await app.get(f"/v1/conversations/{conversation}/items")
        assert (await elsewhere.json())["data"] == []
        unknown = await app.get("/v1/conversations/not-one-of-ours/items")
        assert unknown.status == 404
        assert (await unknown.json())["error"]["type"] == "not_found_error"
