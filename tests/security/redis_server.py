"""A real redis-server on a free loopback port, started and stopped by the tests; the pieces the Cluster
and Sentinel helpers build on."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from tests.gateway_process import end_process, free_port


def redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if found is None:
        message = "redis-server is missing; install Debian's redis-server package (make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # under CI a missing component is a failure, never a skip
        pytest.skip(message)
    return found


def redis_cli() -> str:
    return shutil.which("redis-cli") or "/usr/bin/redis-cli"  # Debian's redis-tools, with redis-server


def spawn_redis(port: int, *options: str) -> subprocess.Popen[bytes]:
    """redis-server on 127.0.0.1:`port`, in memory only, in a directory of its own, with more `options`."""
    directory = tempfile.mkdtemp(prefix=f"redis-{port}-")
    return subprocess.Popen(
        [
            *(redis_binary(), "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", directory, *options),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_answer(port: int, expected: str, *command: str, seconds: float = 30) -> None:
    """Until `redis-cli -p port command...` prints `expected`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = subprocess.run(
            [redis_cli(), "-p", str(port), *command], capture_output=True, text=True, timeout=10
        )
        if expected in answer.stdout:
            return
        time.sleep(0.1)
    raise RuntimeError(f"redis {port} did not answer {expected!r} to {' '.join(command)}")


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self._process = spawn_redis(self.port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            end_process(self._process)
