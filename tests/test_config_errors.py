"""Configuration an operator got wrong: one line naming the variable, at start-up and on SIGHUP.

Never a traceback, never the password of a REDIS_URL.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.gateway_process import ROOT, free_port, gateway_env, start_gateway
from tests.sse import chat_body

PASSWORD = "hunter2-REDIS-SENTINEL"
DEEP_ARRAY = "[profiles.a]\nallowed_models = " + "[" * 5000 + "]" * 5000 + "\n"
NOT_UTF8 = b'[profiles.a]\nsystem_prompt = "caf\xe9"\n'


def start_up_error(env: dict[str, str]) -> str:
    """The one line `python -m gateway` ends with, asserting that it ends at once and says no more."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway"],
        env=gateway_env({"GATEWAY_PORT": str(free_port()), **env}),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / "tests",
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("deepchat-gateway: configuration error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"redis://:{PASSWORD}@localhost:abc/0", "a port is not a number from 1 to 65535"),
        (f"redis://:{PASSWORD}@localhost:70000/0", "a port is not a number from 1 to 65535"),
        (f"redis://:{PASSWORD}@localhost:6379/zero", "the database, at the end of the path, is a number"),
        (f"redis+sentinel://:{PASSWORD}@a:26379,b:x/mymaster", "a port is not a number"),
        (f"redis+sentinel://:{PASSWORD}@a:26379/mymaster/db", "the database"),
        (f"redis+cluster://:{PASSWORD}@a:7000,b:-1", "a port is not a number"),
        (f"redis2://:{PASSWORD}@localhost:6379/0", "use redis://host:port/db"),
        # A '/' in a password cuts the URL short: what follows must not be quoted as a path either.
        (f"redis://:{PASSWORD}/x@localhost:6379/0", "the database"),
    ],
)
def test_a_malformed_redis_url_is_one_line_naming_it_without_its_password(url: str, says: str) -> None:
    line = start_up_error({"REDIS_URL": url})
    assert line.startswith("deepchat-gateway: configuration error: REDIS_URL: "), line
    assert says in line
    assert PASSWORD not in line and "GATEWAY_REDIS_URL" not in line


@pytest.mark.parametrize(
    ("content", "says"),
    [(NOT_UTF8, ", line 2: not UTF-8 text"), (DEEP_ARRAY.encode(), ": arrays or tables nested too deeply")],
)
def test_an_unreadable_profiles_file_is_one_line_at_start_up(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "profiles.toml"
    path.write_bytes(content)
    line = start_up_error({"GATEWAY_CONFIG": str(path)})
    assert f"GATEWAY_CONFIG: {path}{says}" in line


@pytest.mark.parametrize(
    ("content", "says"),
    [(NOT_UTF8, ", line 2: not UTF-8 text"), (DEEP_ARRAY.encode(), ": arrays or tables nested too deeply")],
)
def test_an_unreadable_profiles_file_on_sighup_keeps_the_running_profiles(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text('[profiles.a]\nprovider = "echo"\n', encoding="utf-8")
    gateway = start_gateway({"GATEWAY_CONFIG": str(path), "GATEWAY_ECHO_DELAY": "0"})
    try:
        path.write_bytes(content)
        gateway.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "profiles not reloaded" not in gateway.log():
            assert time.monotonic() < deadline, gateway.log()
            time.sleep(0.05)
        reply = httpx.post(gateway.url + "/p/a/chat", json=chat_body("still here"), timeout=30)
        assert reply.status_code == 200 and "still" in reply.json()["text"]
        log = gateway.log()
        [line] = [line for line in log.splitlines() if "profiles not reloaded" in line]
        assert f"GATEWAY_CONFIG: {path}{says}" in line
        assert "Traceback" not in log and "exception was never retrieved" not in log
    finally:
        gateway.stop()
