"""Gemini, Ollama, Azure OpenAI and the OpenAI-compatible presets, each against its own fake upstream."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes import ollama_upstream, openai_upstream
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.ollama_upstream import FakeOllama
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Reply, Stream, split_every
from tests.gateway_process import GatewayProcess, start_gateway
from tests.sse import STREAM_HEADERS, chat_body, events

GEMINI_KEY = "AIza-test-GEMINI-SENTINEL-0123456789abcdef"
HISTORY = {
    "messages": [
        {"role": "user", "text": "Hi"},
        {"role": "ai", "text": "Hello!"},
        {"role": "user", "text": "Tell me more"},
    ]
}


@pytest.fixture(scope="module")
def fake_gemini() -> Iterator[FakeGemini]:
    fake = FakeGemini().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def fake_ollama() -> Iterator[FakeOllama]:
    fake = FakeOllama().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def gemini(fake_gemini: FakeGemini) -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        {
            "GATEWAY_PROVIDER": "gemini",
            "GEMINI_API_KEY": GEMINI_KEY,
            "GEMINI_BASE_URL": fake_gemini.url,
            "GATEWAY_SYSTEM_PROMPT": "Be brief.",
        }
    )
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def ollama(fake_ollama: FakeOllama) -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        {
            "GATEWAY_PROVIDER": "ollama",
            "OLLAMA_HOST": fake_ollama.url,
            "GATEWAY_SYSTEM_PROMPT": "Be brief.",
            "GATEWAY_MAX_TOKENS": "99",
        }
    )
    yield gateway
    gateway.stop()


def stream(gateway: GatewayProcess, body: object) -> list[dict[str, str]]:
    with httpx.stream(
        "POST", gateway.url + "/chat", json=body, headers=STREAM_HEADERS, timeout=10
    ) as response:
        assert response.status_code == 200
        return list(events(response.iter_lines()))


def test_gemini_streams_and_maps_roles_and_system(gemini: GatewayProcess, fake_gemini: FakeGemini) -> None:
    fake_gemini.reset()
    assert stream(gemini, HISTORY) == [{"text": t} for t in ("Hello", ",", " world", "!")]
    sent = fake_gemini.last
    assert sent.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent" and sent.query == "alt=sse"
    assert sent.headers["x-goog-api-key"] == GEMINI_KEY
    assert sent.json() == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello!"}]},
            {"role": "user", "parts": [{"text": "Tell me more"}]},
        ],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
    }
    assert httpx.post(gemini.url + "/chat", json=chat_body(), timeout=10).json() == {"text": "Hello, world!"}


def test_ollama_streams_ndjson_with_system_and_options(
    ollama: GatewayProcess, fake_ollama: FakeOllama
) -> None:
    fake_ollama.reset()
    assert stream(ollama, HISTORY) == [{"text": t} for t in ("Hello", ",", " world", "!")]
    assert fake_ollama.last.json() == {
        "model": "llama3.2",
        "stream": True,
        "options": {"num_predict": 99},
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Tell me more"},
        ],
    }
    fake_ollama.enqueue(Stream(split_every(b"".join(ollama_upstream.stream_lines(["ça ", "va 👍"])), 4)))
    assert httpx.post(ollama.url + "/chat", json=chat_body(), timeout=10).json() == {"text": "ça va 👍"}


def test_ollama_errors(ollama: GatewayProcess, fake_ollama: FakeOllama) -> None:
    fake_ollama.reset()
    missing = httpx.post(ollama.url + "/chat", json=chat_body(model="missing-model"), timeout=10)
    assert missing.status_code == 422  # the page may not pick models here
    fake_ollama.enqueue(Reply(404, b'{"error": "model \'llama3.2\' not found, try pulling it first"}'))
    response = httpx.post(ollama.url + "/chat", json=chat_body(), timeout=10)
    assert response.status_code == 502 and "try pulling it first" in response.json()["error"]
    fake_ollama.enqueue(
        Stream(
            [
                *ollama_upstream.stream_lines(["par"], done=False),
                b'{"error": "an error was encountered while running the model"}\n',
            ]
        )
    )
    received = stream(ollama, chat_body())
    assert received[0] == {"text": "par"} and "while running the model" in received[1]["error"]


def test_azure_uses_deployment_api_version_and_api_key_header(fake_openai: FakeOpenAI) -> None:
    gateway = start_gateway(
        {
            "GATEWAY_PROVIDER": "azure",
            "AZURE_OPENAI_API_KEY": "azure-test-key",
            "AZURE_OPENAI_ENDPOINT": fake_openai.url,
            "AZURE_OPENAI_DEPLOYMENT": "chat-prod",
            "OPENAI_API_VERSION": "2024-10-21",
        }
    )
    try:
        assert stream(gateway, chat_body()) == [{"text": t} for t in ("Hello", ",", " world", "!")]
        sent = fake_openai.last
        assert sent.path == "/openai/deployments/chat-prod/chat/completions"
        assert sent.query == "api-version=2024-10-21"
        assert sent.headers["api-key"] == "azure-test-key"
        assert httpx.get(gateway.url + "/readyz").json()["provider"] == "azure"
    finally:
        gateway.stop()


@pytest.mark.parametrize(
    ("preset", "model", "usage"),
    [
        ("groq", "llama-3.3-70b-versatile", True),
        ("mistral", "mistral-small-latest", False),
        ("deepseek", "deepseek-chat", True),
        ("openrouter", "openai/gpt-4o-mini", True),
    ],
)
def test_presets_need_one_variable_and_their_key(
    fake_openai: FakeOpenAI, preset: str, model: str, usage: bool
) -> None:
    key = f"{preset}-test-key"
    gateway = start_gateway(
        {
            "GATEWAY_PROVIDER": preset,
            f"{preset.upper()}_API_KEY": key,
            f"{preset.upper()}_BASE_URL": fake_openai.url + "/v1",
        }
    )
    try:
        assert httpx.post(gateway.url + "/chat", json=chat_body(), timeout=10).json() == {
            "text": "Hello, world!"
        }
        sent = fake_openai.last
        assert sent.headers["authorization"] == f"Bearer {key}"
        assert sent.json()["model"] == model
        assert ("stream_options" in sent.json()) is usage  # Mistral rejects stream_options
        fake_openai.enqueue(openai_upstream.error(401, "bad key", "invalid_request_error"))
        refused = httpx.post(gateway.url + "/chat", json=chat_body(), timeout=10)
        assert f"{preset.upper()}_API_KEY" in refused.json()["error"]
    finally:
        gateway.stop()
