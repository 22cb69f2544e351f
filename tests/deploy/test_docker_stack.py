"""The image built from the repository's Dockerfile and the stack of its docker-compose.yml, on a real
Docker engine that these tests start themselves (see tests/deploy/docker_engine.py).

Traffic goes only to nginx's port published on loopback, and, from the containers, to a fake upstream
listening on the host's address on the stack's own docker network.
"""

from __future__ import annotations

import itertools
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from tests.deploy.docker_engine import (
    COMPOSE_COMMANDS,
    GATEWAY_IMAGE,
    Engine,
    Stack,
    build_gateway_image,
    compose_available,
    missing_component,
    provide_standins,
    running_engine,
    write_env_file,
)
from tests.fakes.gemini_upstream import FakeGemini
from tests.gateway_process import ROOT, free_port
from tests.sse import STREAM_HEADERS, StreamsInFlight, chat_body, events

pytestmark = pytest.mark.timeout(1800)  # the first run builds the base images (see the README)

TIMINGS = ROOT / "test-artifacts" / "docker-timings.json"


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    started = time.monotonic()
    with running_engine() as engine:
        provide_standins(engine)
        build_gateway_image(engine)
        engine.timings["engine and images"] = time.monotonic() - started
        yield engine
        engine.timings["whole module"] = time.monotonic() - started
        TIMINGS.parent.mkdir(exist_ok=True)
        seconds = {name: round(value, 1) for name, value in engine.timings.items()}
        report = {"storage driver": engine.storage_driver, "seconds": seconds}
        TIMINGS.write_text(json.dumps(report, indent=2))


class MakeStack(Protocol):
    def __call__(self, compose: str, settings: dict[str, str]) -> Stack: ...


@pytest.fixture(scope="module")
def make_stack(engine: Engine) -> Iterator[MakeStack]:
    """Stacks configured by an env file, as a user's `.env`; all taken down after the module."""
    directory = Path(tempfile.mkdtemp(prefix="stacks-"))
    stacks: list[Stack] = []

    def make(compose: str, settings: dict[str, str]) -> Stack:
        if not compose_available(compose):
            missing_component(f"docker compose {compose} is missing: run scripts/system-deps.sh")
        port = free_port()
        stack = Stack(engine, COMPOSE_COMMANDS[compose], write_env_file(directory, port, settings), port)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.down()


@pytest.fixture(scope="module")
def echo_stack(make_stack: MakeStack) -> Stack:
    """Compose v2 (what users run), the built-in echo provider, deltas 100 ms apart."""
    # Every test request reaches nginx from one address (Docker's port forwarder): no per-visitor limit.
    settings = {"GATEWAY_PROVIDER": "echo", "GATEWAY_ECHO_DELAY": "0.1", "GATEWAY_REQUESTS_PER_MINUTE": "0"}
    stack = make_stack("v2", settings)
    started = time.monotonic()
    stack.run("up", "--detach")
    stack.wait_serving()
    stack.engine.timings["echo stack up"] = time.monotonic() - started
    return stack


def timed_events(url: str, text: str) -> list[tuple[float, dict[str, str]]]:
    started = time.monotonic()
    received = []
    with httpx.stream("POST", url, json=chat_body(text), headers=STREAM_HEADERS, timeout=60) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in events(response.iter_lines()):
            received.append((time.monotonic() - started, event))
    return received


def chat_requests(log: str) -> int:
    """Requests to /chat in a replica's own JSON log lines."""
    lines = [json.loads(line) for line in log.splitlines() if line.startswith('{"event":"request"')]
    return sum(1 for line in lines if line["route"] == "/chat")


def test_the_image_runs_non_root_on_a_read_only_root_and_its_own_healthcheck_reports_healthy(
    engine: Engine,
) -> None:
    healthcheck = engine.docker("image", "inspect", "--format", "{{json .Config.Healthcheck}}", GATEWAY_IMAGE)
    assert "/healthz" in healthcheck
    # As the Kubernetes Deployment runs it: read-only root filesystem, a writable /tmp, no capabilities,
    # two workers (their metrics directory goes to /tmp); no Redis here, so the per-visitor limits are off.
    container = engine.docker(
        "run",
        "--detach",
        "--network=none",
        "--read-only",
        "--tmpfs=/tmp",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--env=GATEWAY_WORKERS=2",
        "--env=GATEWAY_REQUESTS_PER_MINUTE=0",
        "--env=GATEWAY_TOKENS_PER_DAY=0",
        GATEWAY_IMAGE,
    ).strip()
    try:
        deadline = time.monotonic() + 60
        health = ""
        while health != "healthy" and time.monotonic() < deadline:
            time.sleep(1)
            health = engine.docker("inspect", "--format", "{{.State.Health.Status}}", container).strip()
        assert health == "healthy", engine.docker("logs", container)
        assert engine.docker("exec", container, "id", "-u").strip() == "10001"
        # The server itself (PID 1), not only a shell started beside it.
        status = engine.docker("exec", container, "cat", "/proc/1/status")
        assert "\nUid:\t10001\t10001\t10001\t10001\n" in status
        # The demo page's widget was built into the image from npm.
        assert engine.docker("exec", container, "python", "-c", _FETCH_BUNDLE).strip() == "200"
        assert json.loads(engine.docker("exec", container, "python", "-c", _CHAT)) == {"text": "read only"}
    finally:
        engine.docker("rm", "--force", container)


_CHAT = (
    "import urllib.request; print(urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/chat',"
    ' data=b\'{"messages": [{"role": "user", "text": "read only"}]}\','
    " headers={'content-type': 'application/json'})).read().decode())"
)
_FETCH_BUNDLE = (
    "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/deep-chat.js').status)"
)


def test_a_deep_chat_stream_arrives_delta_by_delta_through_nginx(echo_stack: Stack) -> None:
    received = timed_events(echo_stack.url + "/chat", "hello there friend")
    assert [event for _, event in received] == [{"text": "hello "}, {"text": "there "}, {"text": "friend"}]
    longer = timed_events(echo_stack.url + "/chat", " ".join(f"w{i}" for i in range(10)))
    arrivals = [seconds for seconds, _ in longer]
    assert len(arrivals) == 10
    # Ten deltas 100 ms apart: a buffering proxy would hand them over at once at the end.
    assert arrivals[-1] - arrivals[0] > 0.6, arrivals
    assert all(later - earlier > 0.03 for earlier, later in itertools.pairwise(arrivals))


def test_readyz_answers_and_the_gateway_is_healthy_and_not_root(echo_stack: Stack) -> None:
    ready = httpx.get(echo_stack.url + "/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    (gateway,) = echo_stack.wait_healthy("gateway", 1)
    assert echo_stack.inspect(gateway, "{{.Config.User}}") == "gateway"
    assert echo_stack.engine.docker("exec", gateway, "id", "-u").strip() == "10001"
    echo_stack.wait_healthy("nginx", 1)
    echo_stack.wait_healthy("redis", 1)
    # compose's grace period is the container's stop timeout, above the default 30 s drain.
    assert echo_stack.inspect(gateway, "{{.Config.StopTimeout}}") == "40"


def test_scaled_replicas_get_traffic_without_restarting_nginx(echo_stack: Stack) -> None:
    (nginx,) = echo_stack.containers("nginx")
    nginx_started = echo_stack.inspect(nginx, "{{.State.StartedAt}}")
    echo_stack.run("up", "--detach", "--scale", "gateway=3", "--no-recreate")
    replicas = echo_stack.wait_healthy("gateway", 3)
    assert echo_stack.containers("nginx") == [nginx]
    assert echo_stack.inspect(nginx, "{{.State.StartedAt}}") == nginx_started  # not restarted
    before = {replica: chat_requests(echo_stack.logs(replica)) for replica in replicas}
    served: dict[str, int] = {}
    deadline = time.monotonic() + 45  # nginx asks Docker's DNS again every 5 s
    while time.monotonic() < deadline:
        for _ in range(6):
            reply = httpx.post(echo_stack.url + "/chat", json=chat_body("which replica"), timeout=10)
            assert reply.json() == {"text": "which replica"}
        served = {r: chat_requests(echo_stack.logs(r)) - before[r] for r in replicas}
        if all(served.values()):
            break
        time.sleep(1)
    assert all(served.values()), served


def test_stopping_a_replica_during_streams_cuts_none_of_them(echo_stack: Stack) -> None:
    echo_stack.run("up", "--detach", "--scale", "gateway=3", "--no-recreate")
    replicas = echo_stack.wait_healthy("gateway", 3)
    words = " ".join(f"w{i}" for i in range(30))  # about 3 s per stream
    streams = StreamsInFlight(echo_stack.url, words, count=12, timeout=60).start()
    stopping = replicas[0]
    stopped_after: list[float] = []

    def stop() -> None:
        started = time.monotonic()
        echo_stack.engine.docker("stop", stopping, timeout=120)  # compose's grace period, not -t
        stopped_after.append(time.monotonic() - started)

    stopper = threading.Thread(target=stop)
    stopper.start()
    time.sleep(0.5)
    new_request = chat_body("new request")
    after = [httpx.post(echo_stack.url + "/chat", json=new_request, timeout=20) for _ in range(6)]
    results = streams.join()
    stopper.join(timeout=120)
    assert results == [words] * 12  # every stream ended whole, the stopped replica's included
    assert [reply.json() for reply in after] == [{"text": "new request"}] * 6
    assert stopped_after and stopped_after[0] < 30, stopped_after  # drained, not killed at the grace end
    assert echo_stack.inspect(stopping, "{{.State.ExitCode}}") != "137"  # not SIGKILLed
    log = echo_stack.logs(stopping)
    assert "Shutting down" in log
    finished_while_draining = chat_requests(log.split("Shutting down")[-1])
    assert finished_while_draining >= 1, log[-3000:]  # it had streams in flight, and they finished


def test_env_file_selects_another_provider_and_a_rate_limit_under_compose_v1(
    make_stack: MakeStack, echo_stack: Stack
) -> None:
    settings = {
        "GATEWAY_PROVIDER": "gemini",
        "GEMINI_API_KEY": "test-gemini-key",
        "GATEWAY_REQUESTS_PER_MINUTE": "3",
    }
    stack = make_stack("v1", settings)
    stack.run("up", "--detach", "redis")  # makes the stack's network, so the fake can listen on it
    fake = FakeGemini(host=stack.network_gateway()).start()
    try:
        stack.env_file.write_text(stack.env_file.read_text() + f"GEMINI_BASE_URL={fake.url}\n")
        stack.run("up", "--detach")
        stack.wait_serving()
        received = timed_events(stack.url + "/chat", "hello there friend")
        assert "".join(event["text"] for _, event in received) == "Hello, world!"
        assert fake.last.headers["x-goog-api-key"] == "test-gemini-key"
        assert fake.last.json()["contents"][-1]["parts"] == [{"text": "hello there friend"}]
        # The stream was the first request of this minute; two more pass, the fourth is refused.
        replies = [httpx.post(stack.url + "/chat", json=chat_body("again"), timeout=10) for _ in range(3)]
        assert [reply.status_code for reply in replies] == [200, 200, 429]
        assert "error" in replies[-1].json() and int(replies[-1].headers["retry-after"]) >= 1
    finally:
        fake.stop()
    # A second stack beside the first on the same engine: no fixed subnet or address to clash.
    assert echo_stack.network_gateway() != stack.network_gateway()
    assert httpx.get(echo_stack.url + "/readyz", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"GATEWAY_PROVIDER": "gemini"}, "GEMINI_API_KEY"),
        ({"GATEWAY_REQUESTS_PER_MINUTE": "many"}, "GATEWAY_REQUESTS_PER_MINUTE"),
    ],
)
def test_bad_configuration_is_one_clear_line_in_compose_logs(
    make_stack: MakeStack, settings: dict[str, str], named: str
) -> None:
    stack = make_stack("v2", settings)
    stack.run("up", "--detach", "--no-deps", "gateway")
    deadline = time.monotonic() + 60
    logs = ""
    while named not in logs and time.monotonic() < deadline:
        time.sleep(1)
        logs = stack.run("logs", "--no-color", "gateway").stdout
    problem = [line for line in logs.splitlines() if named in line]
    assert problem, logs
    assert "configuration error" in problem[0]
    assert "Traceback" not in logs
