"""A real Redis Sentinel set on loopback: a master, its replica, and one Sentinel watching them."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from tests.gateway_process import free_port
from tests.security.redis_server import redis_binary

SERVICE = "deepchat"


class RedisSentinelSet:
    def __init__(self) -> None:
        self.master_port, self.replica_port, self.sentinel_port = free_port(), free_port(), free_port()
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE}"

    def start(self) -> RedisSentinelSet:
        self._server(self.master_port)
        self._server(self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port))
        directory = Path(tempfile.mkdtemp(prefix="redis-sentinel-"))
        config = directory / "sentinel.conf"  # Sentinel rewrites its file as it learns: it must own one
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {directory}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master_port} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 1000\n"
            f"sentinel failover-timeout {SERVICE} 5000\n"
        )
        self.processes[self.sentinel_port] = subprocess.Popen(
            [redis_binary(), str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait(self.replica_port, "master_link_status:up", "info", "replication")
        self._wait(self.sentinel_port, f"{self.master_port}", "sentinel", "get-master-addr-by-name", SERVICE)
        return self

    def stop_master(self) -> None:
        process = self.processes[self.master_port]
        process.terminate()
        process.wait(timeout=10)

    def wait_for_failover(self, seconds: float = 30) -> None:
        """Until the Sentinel names the replica as the master (and the replica knows it)."""
        self._wait(self.sentinel_port, f"{self.replica_port}", "sentinel", "get-master-addr-by-name", SERVICE)
        self._wait(self.replica_port, "role:master", "info", "replication", seconds=seconds)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)

    def _server(self, port: int, *more: str) -> None:
        directory = tempfile.mkdtemp(prefix=f"redis-{port}-")
        self.processes[port] = subprocess.Popen(
            [
                *(redis_binary(), "--port", str(port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", directory, *more),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait(port, "PONG", "ping")

    def _wait(self, port: int, expected: str, *command: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            answer = subprocess.run(
                ["redis-cli", "-p", str(port), *command], capture_output=True, text=True, timeout=10
            )
            if expected in answer.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis {port} did not answer {expected!r} to {' '.join(command)}")
