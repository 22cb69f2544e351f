"""A real Redis Sentinel set on loopback: a master, its replica, and one Sentinel watching them."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from tests.gateway_process import end_process, free_port
from tests.security.redis_server import redis_binary, spawn_redis, wait_for_answer

SERVICE = "deepchat"


class RedisSentinelSet:
    def __init__(self) -> None:
        self.master_port, self.replica_port, self.sentinel_port = free_port(), free_port(), free_port()
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE}"

    def start(self) -> RedisSentinelSet:
        self.processes[self.master_port] = spawn_redis(self.master_port)
        replica_of = ("--replicaof", "127.0.0.1", str(self.master_port))
        self.processes[self.replica_port] = spawn_redis(self.replica_port, *replica_of)
        # The Sentinel learns of replicas from the master's INFO, which it asks for at once and then every
        # 10 s: start it once the replica is linked, so its first look finds one to promote.
        wait_for_answer(self.replica_port, "master_link_status:up", "info", "replication")
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
        wait_for_answer(
            self.sentinel_port, f"{self.master_port}", "sentinel", "get-master-addr-by-name", SERVICE
        )
        # Only a replica the Sentinel is connected to (flags exactly "slave") can be promoted.
        wait_for_answer(self.sentinel_port, "flags\nslave\n", "sentinel", "replicas", SERVICE)
        return self

    def stop_master(self) -> None:
        end_process(self.processes[self.master_port])

    def wait_for_failover(self, seconds: float = 30) -> None:
        """Until the Sentinel names the replica as the master (and the replica knows it)."""
        wait_for_answer(
            self.sentinel_port, f"{self.replica_port}", "sentinel", "get-master-addr-by-name", SERVICE
        )
        wait_for_answer(self.replica_port, "role:master", "info", "replication", seconds=seconds)

    def stop(self) -> None:
        for process in self.processes.values():
            end_process(process)
