"""Starting the gateway: `--help`, and bad configuration stopping start-up with one clear line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import OPENAI_KEY
from tests.gateway_process import (
    ROOT,
    GatewayProcess,
    free_port,
    gateway_env,
    start_gateway,
    wait_until_serving,
)
from tests.security.redis_server import RedisServer
from tests.sse import chat_body


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=gateway_env(env or {}),
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT / "tests",
    )


def test_help_lists_options_and_variables() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("--port", "--provider", "GATEWAY_PROVIDER", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "echo"):
        assert word in result.stdout


def test_installed_command_runs_too() -> None:
    script = ROOT / ".venv" / "bin" / "deepchat-gateway"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]
    result = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "usage: deepchat-gateway" in result.stdout


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"GATEWAY_PORT": "eighty"}, "GATEWAY_PORT"),
        ({"GATEWAY_PROVIDER": "skynet"}, "GATEWAY_PROVIDER"),
        ({"GATEWAY_TEMPERATURE": "9"}, "GATEWAY_TEMPERATURE"),
        ({"GATEWAY_PROVIDER": "openai"}, "OPENAI_API_KEY"),
        ({"GATEWAY_PROVIDER": "anthropic"}, "ANTHROPIC_API_KEY"),
        ({"GATEWAY_ECHO_DELAY": "soon"}, "GATEWAY_ECHO_DELAY"),
    ],
)
def test_bad_configuration_stops_start_up_with_one_line(env: dict[str, str], variable: str) -> None:
    result = run_cli(env={"GATEWAY_PORT": str(free_port()), **env})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0] and "configuration error" in lines[0]
    assert "Traceback" not in result.stderr


def test_flags_override_the_environment() -> None:
    gateway = start_gateway({"GATEWAY_PROVIDER": "openai"}, args=("--provider", "echo"))
    try:
        assert httpx.get(gateway.url + "/readyz", timeout=10).json()["provider"] == "echo"
    finally:
        gateway.stop()


def test_dotenv_file_configures_the_gateway(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"GATEWAY_PROVIDER=openai\nGATEWAY_MODEL=from-dotenv\nOPENAI_API_KEY={OPENAI_KEY}\n"
        "OPENAI_BASE_URL=http://127.0.0.1:9/v1\n"
    )
    gateway = start_gateway({}, cwd=tmp_path)
    try:
        assert httpx.get(gateway.url + "/readyz", timeout=10).json() == {
            "status": "ready",
            "provider": "openai",
            "model": "from-dotenv",
        }
        unreachable = httpx.post(
            gateway.url + "/chat", json={"messages": [{"role": "user", "text": "hi"}]}, timeout=20
        )
        assert unreachable.status_code == 502
        assert unreachable.json() == {"error": "Could not reach the openai provider."}
    finally:
        gateway.stop()
    assert OPENAI_KEY not in gateway.log()


def test_app_factory_without_a_key_reports_not_ready() -> None:
    """Served by another ASGI server (no CLI check), a missing key shows in /readyz and every chat."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--port", str(port)],
        env=gateway_env({"GATEWAY_PROVIDER": "anthropic"}),
        cwd=ROOT / "tests",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_until_serving(url, process)
        ready = httpx.get(url + "/readyz", timeout=10)
        assert ready.status_code == 503
        assert "ANTHROPIC_API_KEY" in ready.json()["error"]
        chat = httpx.post(url + "/chat", json={"messages": [{"role": "user", "text": "hi"}]}, timeout=10)
        assert chat.status_code == 503 and "ANTHROPIC_API_KEY" in chat.json()["error"]
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"GATEWAY_PROVIDER": "groq"}, "GROQ_API_KEY"),
        ({"GATEWAY_PROVIDER": "gemini"}, "GEMINI_API_KEY"),
        ({"GATEWAY_PROVIDER": "azure", "AZURE_OPENAI_API_KEY": "k"}, "AZURE_OPENAI_ENDPOINT"),
        ({"GATEWAY_PROVIDER": "vllm"}, "GATEWAY_MODEL"),
        ({"GATEWAY_FALLBACK_PROVIDERS": "echo,skynet"}, "GATEWAY_FALLBACK_PROVIDERS"),
        ({"GATEWAY_FALLBACK_PROVIDERS": "anthropic"}, "ANTHROPIC_API_KEY"),
    ],
)
def test_provider_configuration_errors_name_their_variable(env: dict[str, str], variable: str) -> None:
    result = run_cli(env={"GATEWAY_PORT": str(free_port()), **env})
    assert result.returncode != 0
    assert variable in result.stderr.strip() and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "GATEWAY_REQUESTS_PER_MINUTE=0"),  # the default limits are on
        ({"GATEWAY_REQUESTS_PER_MINUTE": "0", "GATEWAY_TOKENS_PER_DAY": "5000"}, "GATEWAY_TOKENS_PER_DAY=0"),
        (
            {
                "GATEWAY_REQUESTS_PER_MINUTE": "0",
                "GATEWAY_TOKENS_PER_DAY": "0",
                "GATEWAY_CONVERSATIONS": "true",
            },
            "GATEWAY_CONVERSATIONS=false",
        ),
    ],
)
def test_several_workers_without_redis_are_refused_while_a_visitor_has_state(
    env: dict[str, str], named: str
) -> None:
    """Each worker process would keep its own counters and conversations: one visitor, two limits."""
    result = run_cli("--workers", "2", env={"GATEWAY_PORT": str(free_port()), **env})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("deepchat-gateway: configuration error: GATEWAY_WORKERS: ")
    assert "set REDIS_URL" in lines[0] and "GATEWAY_WORKERS=1" in lines[0] and named in lines[0]
    assert "Traceback" not in result.stderr


def test_several_workers_without_redis_refuse_a_profile_that_keeps_conversations(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[profiles.support]\nprovider = "echo"\nconversations = true\n', encoding="utf-8")
    limits_off = {"GATEWAY_REQUESTS_PER_MINUTE": "0", "GATEWAY_TOKENS_PER_DAY": "0"}
    result = run_cli(
        "--workers", "2", env={"GATEWAY_PORT": str(free_port()), "GATEWAY_CONFIG": str(config), **limits_off}
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "profiles.support" in lines[0] and "REDIS_URL" in lines[0] and "conversations" in lines[0]


def both_workers_started(gateway: GatewayProcess) -> None:
    deadline = time.monotonic() + 60
    while gateway.log().count("Application startup complete") < 2:
        assert time.monotonic() < deadline, gateway.log()
        time.sleep(0.1)


def test_two_workers_without_redis_serve_when_nothing_is_kept_per_visitor() -> None:
    gateway = start_gateway(
        {"GATEWAY_TOKENS_PER_DAY": "0", "GATEWAY_ECHO_DELAY": "0"}, args=("--workers", "2")
    )
    try:
        both_workers_started(gateway)
        answers = [httpx.post(gateway.url + "/chat", json=chat_body("hi"), timeout=10) for _ in range(6)]
        assert [answer.json() for answer in answers] == [{"text": "hi"}] * 6
    finally:
        gateway.stop()


def test_two_workers_sharing_redis_give_a_visitor_one_limit_and_one_conversation() -> None:
    redis = RedisServer().start()
    gateway = None
    try:
        gateway = start_gateway(
            {
                "REDIS_URL": redis.url,
                "GATEWAY_WORKERS": "2",
                "GATEWAY_REQUESTS_PER_MINUTE": "6",
                "GATEWAY_CONVERSATIONS": "true",
                "GATEWAY_ECHO_DELAY": "0",
            }
        )
        both_workers_started(gateway)
        conversation = {"x-conversation-id": "c" * 22}

        def turn(n: int) -> httpx.Response:
            # A new connection each time, so both workers take their share of them.
            return httpx.post(
                gateway.url + "/chat", json=chat_body(f"turn {n}"), headers=conversation, timeout=10
            )

        answers = [turn(n) for n in range(5)]
        # A history read counts against the same limit: the sixth request of the minute.
        history = httpx.get(gateway.url + "/chat/history", headers=conversation, timeout=10).json()
        answers += [turn(n) for n in range(5, 20)]
        assert [answer.status_code for answer in answers] == [200] * 5 + [429] * 15
        users = [message["text"] for message in history["messages"] if message["role"] == "user"]
        assert users == [f"turn {n}" for n in range(5)]
    finally:
        if gateway is not None:
            gateway.stop()
        redis.stop()


def test_several_workers_without_redis_keep_their_profiles_when_a_reload_would_split_state(
    tmp_path: Path,
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[profiles.a]\nprovider = "echo"\n', encoding="utf-8")
    gateway = start_gateway(
        {"GATEWAY_CONFIG": str(config), "GATEWAY_TOKENS_PER_DAY": "0", "GATEWAY_ECHO_DELAY": "0"},
        args=("--workers", "2"),
    )
    try:
        both_workers_started(gateway)
        config.write_text('[profiles.a]\nprovider = "echo"\nrequests_per_minute = 5\n', encoding="utf-8")
        gateway.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while gateway.log().count("profiles not reloaded") < 2:  # each worker refuses it
            assert time.monotonic() < deadline, gateway.log()
            time.sleep(0.1)
        assert "REDIS_URL" in gateway.log()
        answers = [httpx.post(gateway.url + "/p/a/chat", json=chat_body("hi"), timeout=10) for _ in range(8)]
        assert [answer.status_code for answer in answers] == [200] * 8  # still unlimited, as before
    finally:
        gateway.stop()
