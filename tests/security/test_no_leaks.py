"""With sentinel secrets configured, no response body, header or log line ever contains one.

Here a real process at its most verbose, for what only it prints (uvicorn's own lines, a websocket's URL
with its token); every level and the gateway's own loggers: tests/inprocess/test_no_leaks.py.
"""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests import aio
from tests.conftest import OPENAI_KEY, openai_env
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import start_gateway
from tests.sse import STREAM_HEADERS, chat_body

GATEWAY_KEY = "gw-SENTINEL-key-41c9e0"
JWT_SECRET = "jwt-SENTINEL-secret-9d2b7a61c4e8f0a3b5"
SECRETS = (OPENAI_KEY, GATEWAY_KEY, JWT_SECRET)


def exposed(response: httpx.Response) -> str:
    return response.text + json.dumps(dict(response.headers))


def test_no_secret_in_any_response_or_log_line_of_a_process(fake_openai: FakeOpenAI) -> None:
    gateway = start_gateway(
        openai_env(
            fake_openai,
            GATEWAY_API_KEYS=GATEWAY_KEY,
            GATEWAY_JWT_SECRET=JWT_SECRET,
            GATEWAY_LOG_LEVEL="debug",
            GATEWAY_READ_TIMEOUT="2",
        )
    )
    auth = {"authorization": f"Bearer {GATEWAY_KEY}"}
    seen: list[str] = []
    try:
        with httpx.Client(base_url=gateway.url, timeout=15) as http:
            seen.append(exposed(http.post("/chat", json=chat_body(), headers=auth)))
            seen.append(exposed(http.post("/chat", json=chat_body(), headers={**auth, **STREAM_HEADERS})))
            fake_openai.enqueue(
                openai_upstream.error(
                    401, f"Incorrect API key provided: {OPENAI_KEY}", "invalid_request_error"
                )
            )
            seen.append(exposed(http.post("/chat", json=chat_body(), headers=auth)))
            fake_openai.enqueue(
                openai_upstream.error(429, f"Rate limit for key {OPENAI_KEY}", "rate_limit_error")
            )
            seen.append(exposed(http.post("/chat", json=chat_body(), headers=auth)))
            fake_openai.enqueue(openai_upstream.error(500, f"boom {OPENAI_KEY}"))
            seen.append(exposed(http.post("/chat", json=chat_body(), headers={**auth, **STREAM_HEADERS})))
            fake_openai.enqueue(
                Stream(
                    openai_upstream.stream_frames(["cut"], finish=False, usage=False, done=False), then="drop"
                )
            )
            seen.append(exposed(http.post("/chat", json=chat_body(), headers={**auth, **STREAM_HEADERS})))
            for headers in (
                {},
                {"authorization": "Bearer wrong"},
                {"authorization": f"Bearer {GATEWAY_KEY}x"},
            ):
                seen.append(exposed(http.post("/chat", json=chat_body(), headers=headers)))
            seen.append(
                exposed(
                    http.post("/chat", content=b"{", headers={**auth, "content-type": "application/json"})
                )
            )
            for path in ("/readyz", "/healthz", "/", "/openapi.json", "/nope"):
                seen.append(exposed(http.get(path)))

        async def over_websocket() -> str:
            url = gateway.url.replace("http", "ws") + f"/chat/ws?access_token={GATEWAY_KEY}"
            async with websockets.connect(url) as socket:
                await socket.send(json.dumps(chat_body("ws")))
                return "".join([await socket.recv() for _ in range(5)])

        seen.append(aio.run(over_websocket()))
    finally:
        gateway.stop()
    log = gateway.log()
    assert "Incorrect API key" not in "".join(seen)  # the upstream's own auth message is never passed on
    for secret in SECRETS:
        assert secret not in "".join(seen)
        assert secret not in log, f"{secret} leaked into the log"


def test_settings_never_show_secrets_in_their_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.process.settings import Settings

    monkeypatch.setenv("GATEWAY_API_KEYS", GATEWAY_KEY)
    monkeypatch.setenv("GATEWAY_JWT_SECRET", JWT_SECRET)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert GATEWAY_KEY not in text and JWT_SECRET not in text
