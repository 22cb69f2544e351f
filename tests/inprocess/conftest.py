"""The in-process tier: the app built from settings as the process builds it, driven over ASGI.

Settings come from the environment, as in a real process (adapters read their keys there too); each
test gets a clean one and an empty working directory, so no developer's `.env` is read.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path

import pytest

from gateway.app import configure_logging, create_app
from gateway.process.settings import Settings
from tests.asgi import App

# Every in-process test runs on asyncio, as uvicorn does.
pytestmark = pytest.mark.anyio

StartApp = Callable[..., AbstractAsyncContextManager[App]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# As in `start_gateway`: the request limit, retries and the breaker are off unless a test sets them.
DEFAULTS = {
    "GATEWAY_REQUESTS_PER_MINUTE": "0",
    "GATEWAY_RETRIES": "0",
    "GATEWAY_BREAKER_FAILURES": "1000",
    "GATEWAY_ECHO_DELAY": "0",
}


def clean_environment(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    """No variable of the developer's shell and no `.env` of theirs reaches the app."""
    for name in list(os.environ):
        if name.startswith(("GATEWAY_", "OPENAI_", "ANTHROPIC_", "REDIS_URL")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(workdir)


def settings_from(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in {**DEFAULTS, **env}.items():
        monkeypatch.setenv(name, value)
    return Settings()


@pytest.fixture
def gateway_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> StartApp:
    """`async with gateway_app(GATEWAY_X="1", ...) as app:` a gateway on exactly these variables."""
    clean_environment(monkeypatch, tmp_path)

    @asynccontextmanager
    async def start(**env: str) -> AsyncIterator[App]:
        async with App(create_app(settings_from(monkeypatch, **env))) as app:
            yield app

    return start


class GatewayLog(logging.Handler):
    """What the gateway's own loggers write, formatted with any traceback, as the process would print it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s: %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.tracebacks = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.tracebacks += 1
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)

    def requests(self) -> list[dict[str, object]]:
        """The one JSON line per request of `gateway.access`."""
        prefix = "INFO: gateway.access: "
        return [json.loads(line.removeprefix(prefix)) for line in self.lines if line.startswith(prefix)]


@contextmanager
def captured_log() -> Iterator[GatewayLog]:
    """Every line the gateway logs meanwhile (its loggers do not propagate, so caplog sees none), and
    what reaches the root logger."""
    configure_logging("info")  # the process's handlers first, as `create_app` installs them
    capture = GatewayLog()
    # The root logger too: what other libraries log at warning and above reaches a process's stderr.
    loggers = [logging.getLogger("gateway"), logging.getLogger("gateway.access"), logging.getLogger()]
    for logger in loggers:
        logger.addHandler(capture)
    try:
        yield capture
    finally:
        for logger in loggers:
            logger.removeHandler(capture)


@pytest.fixture
def gateway_log() -> Iterator[GatewayLog]:
    with captured_log() as capture:
        yield capture
