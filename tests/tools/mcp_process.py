"""The shop's MCP server (tests/fakes/mcp_shop.py) as a real child process: streamable HTTP on a free
loopback port, or the command that runs it over stdio."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from tests.gateway_process import ROOT, end_process, free_port

STDIO_COMMAND = (sys.executable, "-m", "tests.fakes.mcp_shop", "stdio")


@dataclass
class McpProcess:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        end_process(self.process)


def start_shop(port: int | None = None) -> McpProcess:
    """Start the shop's server and wait until its port takes connections."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.mcp_shop", "http", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60  # generous: two busy cores; a failed start ends the wait
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return McpProcess(port, process)
        except OSError:
            time.sleep(0.05)
    end_process(process)
    raise RuntimeError(f"the MCP server did not start (exit code {process.returncode})")
