"""Several widgets on one gateway: profiles from a TOML file, each with its own provider and settings."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import websockets

from tests import aio
from tests.conftest import ANTHROPIC_KEY, OPENAI_KEY
from tests.fakes import openai_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import ROOT, GatewayProcess, free_port, gateway_env, start_gateway
from tests.sse import STREAM_HEADERS, chat_body, events

SUPPORT_SITE = "https://support.example"


def profiles_toml(fake_openai: FakeOpenAI, support_prompt: str = "You are support.", extra: str = "") -> str:
    return f"""
[profiles.support]
provider = "anthropic"
model = "claude-support"
system_prompt = "{support_prompt}"
cors_origins = ["{SUPPORT_SITE}"]
requests_per_minute = 3

[profiles.sales]
provider = "openai"
model = "gpt-sales"
system_prompt = "You are sales."
api_key_env = "SALES_OPENAI_KEY"
base_url_env = "SALES_OPENAI_URL"
{extra}"""


@pytest.fixture
def config(tmp_path: Path, fake_openai: FakeOpenAI) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(profiles_toml(fake_openai), encoding="utf-8")
    return path


def profile_env(config: Path, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic) -> dict[str, str]:
    return {
        "GATEWAY_CONFIG": str(config),
        "GATEWAY_ECHO_DELAY": "0",
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": fake_anthropic.url,
        # The sales profile's account lives in variables of its own, not the provider's defaults.
        "SALES_OPENAI_KEY": OPENAI_KEY,
        "SALES_OPENAI_URL": fake_openai.url + "/v1",
    }


@pytest.fixture
def gateway(config: Path, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic) -> Iterator[GatewayProcess]:
    process = start_gateway(profile_env(config, fake_openai, fake_anthropic))
    yield process
    process.stop()


def post(gateway: GatewayProcess, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(gateway.url + path, json=body, headers=headers, timeout=10)


def test_two_profiles_reach_their_own_providers_with_their_own_model_and_persona(
    gateway: GatewayProcess, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    support = post(gateway, "/p/support/chat", chat_body("my order is late"))
    sales = post(gateway, "/p/sales/chat", chat_body("what does it cost"))
    assert support.json() == sales.json() == {"text": "Hello, world!"}
    (to_anthropic,) = fake_anthropic.requests
    (to_openai,) = fake_openai.requests
    assert to_anthropic.json()["model"] == "claude-support"
    assert to_anthropic.json()["system"] == "You are support."
    assert to_openai.json()["model"] == "gpt-sales"
    assert to_openai.json()["messages"][0] == {"role": "system", "content": "You are sales."}
    assert to_openai.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    # The unprefixed routes still serve the environment's configuration: the built-in echo.
    assert post(gateway, "/chat", chat_body("plain")).json() == {"text": "plain"}


def test_each_profile_streams_and_takes_websockets_too(gateway: GatewayProcess) -> None:
    with httpx.stream(
        "POST", gateway.url + "/p/sales/chat-stream", json=chat_body(), headers=STREAM_HEADERS, timeout=10
    ) as response:
        received = list(events(response.iter_lines()))
    assert "".join(event["text"] for event in received) == "Hello, world!"


def test_an_unknown_profile_is_a_404_with_an_error(gateway: GatewayProcess) -> None:
    for path in ("/p/nobody/chat", "/p/nobody/chat-stream"):
        response = post(gateway, path, chat_body())
        assert response.status_code == 404
        assert response.json() == {"error": "There is no profile named 'nobody'."}
    assert httpx.get(gateway.url + "/?profile=nobody", timeout=10).status_code == 404


def test_limits_and_origins_belong_to_their_profile(gateway: GatewayProcess) -> None:
    answers = [post(gateway, "/p/support/chat", chat_body()).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]  # support allows 3 a minute
    assert post(gateway, "/p/sales/chat", chat_body()).status_code == 200  # sales counts apart
    preflight = {"origin": SUPPORT_SITE, "access-control-request-method": "POST"}
    allowed = httpx.options(gateway.url + "/p/support/chat", headers=preflight, timeout=10)
    refused = httpx.options(gateway.url + "/p/sales/chat", headers=preflight, timeout=10)
    assert allowed.headers.get("access-control-allow-origin") == SUPPORT_SITE
    assert "access-control-allow-origin" not in refused.headers


def test_readiness_models_and_metrics_name_each_profile(gateway: GatewayProcess) -> None:
    post(gateway, "/p/sales/chat", chat_body())
    ready = httpx.get(gateway.url + "/readyz", timeout=10).json()
    assert ready["profiles"]["sales"] == {"status": "ready", "provider": "openai", "model": "gpt-sales"}
    assert ready["profiles"]["support"]["provider"] == "anthropic"
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    assert {model.id for model in client.models.list()} == {"echo", "support", "sales"}
    completion = client.chat.completions.create(model="sales", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Hello, world!"
    assert completion.model == "gpt-sales"
    metrics = httpx.get(gateway.url + "/metrics", timeout=10).text
    assert (
        'gateway_requests_total{profile="sales",provider="openai",route="/p/{profile}/chat",status="200"}'
        in (metrics)
    )
    log = [json.loads(line) for line in gateway.log().splitlines() if line.startswith('{"event":"request"')]
    assert any(line["profile"] == "sales" and line["route"] == "/p/sales/chat" for line in log)


def test_the_demo_page_serves_a_profile(gateway: GatewayProcess) -> None:
    page = httpx.get(gateway.url + "/?profile=sales", timeout=10).text
    assert '{"base":"/p/sales","conversations":false}' in page
    assert "sales: openai · gpt-sales" in page


def test_sighup_reloads_the_file_without_cutting_streams_in_flight(
    gateway: GatewayProcess, config: Path, fake_openai: FakeOpenAI
) -> None:
    tokens = [f" t{i}" for i in range(20)]
    for _ in range(5):
        fake_openai.enqueue(Stream(openai_upstream.stream_frames(tokens), delay=0.1))
    replies: list[str] = []

    def stream() -> None:
        with httpx.stream(
            "POST", gateway.url + "/p/sales/chat", json=chat_body(), headers=STREAM_HEADERS, timeout=20
        ) as response:
            replies.append("".join(event.get("text", "") for event in events(response.iter_lines())))

    threads = [threading.Thread(target=stream) for _ in range(5)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the streams are under way
    config.write_text(
        profiles_toml(
            fake_openai, "You are support, version two.", '[profiles.billing]\nprovider = "echo"\n'
        ),
        encoding="utf-8",
    )
    gateway.process.send_signal(signal.SIGHUP)
    for thread in threads:
        thread.join(timeout=20)
    assert replies == ["".join(tokens)] * 5  # every stream in flight finished whole
    deadline = time.monotonic() + 5
    while post(gateway, "/p/billing/chat", chat_body("new")).status_code != 200:
        assert time.monotonic() < deadline, gateway.log()
        time.sleep(0.1)
    post(gateway, "/p/support/chat", chat_body())
    assert "profiles reloaded: billing, default, sales, support" in gateway.log()


def test_an_invalid_file_on_reload_keeps_the_running_profiles(gateway: GatewayProcess, config: Path) -> None:
    config.write_text('[profiles.sales]\nprovider = "openai"\ntemperature = 9\n', encoding="utf-8")
    gateway.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "profiles not reloaded" not in gateway.log():
        assert time.monotonic() < deadline, gateway.log()
        time.sleep(0.05)
    (line,) = [line for line in gateway.log().splitlines() if "profiles not reloaded" in line]
    assert f"{config}, line 3: profiles.sales.temperature: Input should be less than or equal to 2" in line
    assert post(gateway, "/p/support/chat", chat_body()).status_code == 200  # still served


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        (
            "[profiles.sales]\nprovider = 'skynet'\n",
            "line 2: profiles.sales.provider: unknown provider 'skynet'",
        ),
        (
            "[profiles.Sales]\nprovider = 'echo'\n",
            "line 1: profiles.Sales: a profile name is 1-32 lower-case",
        ),
        ("[profiles.sales]\nport = 9000\n", "line 2: profiles.sales.port: belongs to the whole process"),
        (
            "[profiles.sales]\nopenai_api_key = 'sk-x'\n",
            "line 2: profiles.sales.openai_api_key: unknown setting",
        ),
        ("[profiles.sales]\nprovider = 'openai'\n", "OPENAI_API_KEY: not set"),
        (
            "[profiles.sales]\nprovider = 'openai'\napi_key_env = 'SALES_KEY'\n",
            "SALES_KEY: not set",
        ),
        ("[profiles.sales\n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_at_start_up_with_one_line(tmp_path: Path, toml: str, says: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "gateway"],
        env=gateway_env({"GATEWAY_CONFIG": str(path), "GATEWAY_PORT": str(free_port())}),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / "tests",
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("deepchat-gateway: configuration error: ")
    assert says in lines[0]
    assert "Traceback" not in result.stderr


def test_with_several_workers_sighup_reloads_every_worker_in_place(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[profiles.a]\nprovider = "echo"\n', encoding="utf-8")
    # Two workers without Redis: only with the per-visitor limits off (each worker would keep its own).
    gateway = start_gateway(
        {
            "GATEWAY_CONFIG": str(config),
            "GATEWAY_WORKERS": "2",
            "GATEWAY_TOKENS_PER_DAY": "0",
            "GATEWAY_ECHO_DELAY": "0",
        }
    )
    try:
        deadline = time.monotonic() + 60
        while gateway.log().count("Application startup complete") < 2:  # both workers, not just one
            assert time.monotonic() < deadline, gateway.log()
            time.sleep(0.1)
        assert post(gateway, "/p/b/chat", chat_body()).status_code == 404
        config.write_text(
            '[profiles.a]\nprovider = "echo"\n[profiles.b]\nprovider = "echo"\n', encoding="utf-8"
        )
        gateway.process.send_signal(signal.SIGHUP)  # to the supervisor, as `docker kill -s HUP` does
        deadline = time.monotonic() + 20
        while gateway.log().count("profiles reloaded") < 2:
            assert time.monotonic() < deadline, gateway.log()
            time.sleep(0.1)
        assert [post(gateway, "/p/b/chat", chat_body()).status_code for _ in range(6)] == [200] * 6
        assert "Received SIGHUP, restarting processes" not in gateway.log()
    finally:
        gateway.stop()


def test_an_open_websocket_continues_on_the_reloaded_profile(
    gateway: GatewayProcess, config: Path, fake_openai: FakeOpenAI
) -> None:
    def reload() -> None:
        config.write_text(profiles_toml(fake_openai, "Support, version two."), encoding="utf-8")
        gateway.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "profiles reloaded" not in gateway.log():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)  # the replaced profile's provider client is closed by now

    async def two_turns_around_a_reload() -> list[Any]:
        last_frames: list[Any] = []
        async with websockets.connect(gateway.url.replace("http", "ws") + "/p/sales/chat/ws") as socket:
            for turn in range(2):
                if turn:
                    await asyncio.to_thread(reload)
                await socket.send(json.dumps(chat_body()))
                frame: Any = {}
                while frame != {"text": "<END>"} and "error" not in frame:
                    frame = json.loads(await socket.recv())
                last_frames.append(frame)
        return last_frames

    assert aio.run(two_turns_around_a_reload()) == [{"text": "<END>"}] * 2
