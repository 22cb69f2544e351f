from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pytest

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI
from tests.gateway_process import GatewayProcess, start_gateway

# A line a test suite wants printed at the end of the run (the fuzz suite's case count).
SUMMARY = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if SUMMARY in config.stash:
        terminalreporter.write_line(config.stash[SUMMARY])


# Keys the gateway must never reveal: tests look for these strings in every response and log.
OPENAI_KEY = "sk-test-OPENAI-SENTINEL-5f2c9a"
ANTHROPIC_KEY = "sk-ant-test-ANTHROPIC-SENTINEL-81bd3e"


class StartGateway(Protocol):
    def __call__(self, **env: str) -> GatewayProcess: ...


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _fresh_fakes(request: pytest.FixtureRequest) -> None:
    for name in ("fake_openai", "fake_anthropic"):
        if name in request.fixturenames:
            request.getfixturevalue(name).reset()


def openai_env(fake: FakeOpenAI, **extra: str) -> dict[str, str]:
    return {
        "GATEWAY_PROVIDER": "openai",
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": fake.url + "/v1",
        **extra,
    }


def anthropic_env(fake: FakeAnthropic, **extra: str) -> dict[str, str]:
    return {
        "GATEWAY_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": fake.url,
        **extra,
    }


@pytest.fixture(scope="session")
def echo_gateway() -> Iterator[GatewayProcess]:
    gateway = start_gateway({"GATEWAY_ECHO_DELAY": "0.01"})
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def openai_gateway(fake_openai: FakeOpenAI) -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        openai_env(fake_openai, GATEWAY_READ_TIMEOUT="2", GATEWAY_KEEPALIVE_SECONDS="0.5")
    )
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def anthropic_gateway(fake_anthropic: FakeAnthropic) -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        anthropic_env(fake_anthropic, GATEWAY_READ_TIMEOUT="2", GATEWAY_KEEPALIVE_SECONDS="0.5")
    )
    yield gateway
    gateway.stop()


@pytest.fixture
def start_openai_gateway(fake_openai: FakeOpenAI) -> Iterator[StartGateway]:
    """Start a gateway with extra settings for one test; stopped after it."""
    started: list[GatewayProcess] = []

    def start(**env: str) -> GatewayProcess:
        started.append(start_gateway(openai_env(fake_openai, **env)))
        return started[-1]

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def start_anthropic_gateway(fake_anthropic: FakeAnthropic) -> Iterator[StartGateway]:
    started: list[GatewayProcess] = []

    def start(**env: str) -> GatewayProcess:
        started.append(start_gateway(anthropic_env(fake_anthropic, **env)))
        return started[-1]

    yield start
    for gateway in started:
        gateway.stop()
