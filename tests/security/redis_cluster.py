"""A real Redis Cluster of three masters on loopback, made with redis-server and `redis-cli --cluster`."""

from __future__ import annotations

import random
import socket
import subprocess

from tests.gateway_process import end_process
from tests.security.redis_server import redis_cli, spawn_redis, wait_for_answer


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
            # nodes.conf goes into the node's own directory (its --dir).
            cluster = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
            self.processes[port] = spawn_redis(port, *cluster, "--cluster-node-timeout", "2000")
        for port in self.ports:
            wait_for_answer(port, "PONG", "ping")
        subprocess.run(
            [
                *(redis_cli(), "--cluster", "create", *(f"127.0.0.1:{port}" for port in self.ports)),
                *("--cluster-replicas", "0", "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in self.ports:
            wait_for_answer(port, "cluster_state:ok", "cluster", "info")
        return self

    def stop_node(self, index: int) -> None:
        end_process(self.processes[self.ports[index]])

    def stop(self) -> None:
        for process in self.processes.values():
            end_process(process)
