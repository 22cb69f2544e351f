"""A real Redis Cluster of three masters on loopback, made with redis-server and `redis-cli --cluster`."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.security.redis_server import redis_binary


def cluster_port() -> int:
    """A free port whose cluster bus port (10000 above it) is free too: below the ephemeral range."""
    while True:
        port = random.randint(20000, 30000)
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port


class RedisCluster:
    def __init__(self, masters: int = 3) -> None:
        self.ports = [cluster_port() for _ in range(masters)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self) -> RedisCluster:
        for port in self.ports:
            directory = Path(tempfile.mkdtemp(prefix=f"redis-cluster-{port}-"))
            self.processes[port] = subprocess.Popen(
                [
                    *(redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"),
                    *(
                        "--cluster-config-file",
                        str(directory / "nodes.conf"),
                        "--cluster-node-timeout",
                        "2000",
                    ),
                    *("--save", "", "--appendonly", "no", "--dir", str(directory)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for port in self.ports:
            self._wait(port, "PONG", "ping")
        subprocess.run(
            [
                *(self._cli(), "--cluster", "create", *(f"127.0.0.1:{port}" for port in self.ports)),
                *("--cluster-replicas", "0", "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in self.ports:
            self._wait(port, "cluster_state:ok", "cluster", "info")
        return self

    def stop_node(self, index: int) -> None:
        process = self.processes[self.ports[index]]
        process.terminate()
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)

    def _cli(self) -> str:
        return shutil.which("redis-cli") or "/usr/bin/redis-cli"

    def _wait(self, port: int, expected: str, *command: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = subprocess.run(
                [self._cli(), "-p", str(port), *command], capture_output=True, text=True, timeout=10
            )
            if expected in answer.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis node {port} did not answer {expected!r}")
