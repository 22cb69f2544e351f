from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tools.mcp_process import McpProcess, start_shop


@pytest.fixture(scope="session")
def shop() -> Iterator[McpProcess]:
    server = start_shop()
    yield server
    server.stop()
