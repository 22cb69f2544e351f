"""Preflights of the official browser SDKs (OpenAI's and Anthropic's) on `/v1/...`, against a real gateway.

The browser itself runs in tests/browser/test_openai_sdk_in_browser.py; here are the preflight's answers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.gateway_process import GatewayProcess, start_gateway

SITE = "https://shop.example"

# What openai's browser build asks for on `chat.completions.create` (its request headers, lower-cased).
OPENAI_BROWSER = (
    "authorization, content-type, x-stainless-arch, x-stainless-lang, x-stainless-os, "
    "x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, "
    "x-stainless-runtime-version, x-stainless-timeout"
)
# Anthropic's, with `dangerouslyAllowBrowser`, and the helper headers both send on some calls.
ANTHROPIC_BROWSER = (
    "anthropic-dangerous-direct-browser-access, anthropic-version, anthropic-beta, content-type, "
    "x-api-key, x-stainless-helper-method, x-stainless-stream-helper, x-stainless-lang"
)


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayProcess]:
    gateway = start_gateway({"GATEWAY_CORS_ORIGINS": SITE})
    yield gateway
    gateway.stop()


def preflight(gateway: GatewayProcess, path: str, headers: str, origin: str = SITE) -> httpx.Response:
    return httpx.options(
        gateway.url + path,
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": headers,
        },
        timeout=10,
    )


def allowed(answer: httpx.Response) -> set[str]:
    return {name.strip().lower() for name in answer.headers["access-control-allow-headers"].split(",")}


@pytest.mark.parametrize("headers", [OPENAI_BROWSER, ANTHROPIC_BROWSER], ids=["openai", "anthropic"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/models", "/v1/messages"])
def test_an_allowed_origin_may_send_the_sdks_headers_to_v1(
    gateway: GatewayProcess, path: str, headers: str
) -> None:
    answer = preflight(gateway, path, headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == SITE
    assert {name.strip() for name in headers.split(",")} <= allowed(answer)


def test_a_stainless_header_of_a_newer_sdk_is_allowed_too(gateway: GatewayProcess) -> None:
    answer = preflight(gateway, "/v1/chat/completions", "x-stainless-some-future-field")
    assert answer.status_code == 200 and "x-stainless-some-future-field" in allowed(answer)


def test_other_origins_still_get_no_cors(gateway: GatewayProcess) -> None:
    answer = preflight(gateway, "/v1/chat/completions", OPENAI_BROWSER, origin="https://elsewhere.example")
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers


def test_other_unknown_headers_are_still_refused_on_v1(gateway: GatewayProcess) -> None:
    answer = preflight(gateway, "/v1/chat/completions", "x-stainless-os, x-secret-thing")
    assert answer.status_code == 400


def test_deep_chat_routes_keep_their_own_short_list(gateway: GatewayProcess) -> None:
    assert preflight(gateway, "/chat", "content-type, x-conversation-id").status_code == 200
    assert preflight(gateway, "/chat", "x-stainless-os").status_code == 400
    assert preflight(gateway, "/chat", "x-api-key").status_code == 400
