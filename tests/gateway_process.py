"""Start the real gateway (`python -m gateway`, real uvicorn on a real port) as a child process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

# Variables a developer's shell may carry that would change what the gateway under test does.
_INHERITED_PREFIXES = ("GATEWAY_", "OPENAI_", "ANTHROPIC_", "REDIS_URL")


def end_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Ask a child process to end with `sig`; kill it if it has not ended within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class GatewayProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        end_process(self.process)


def gateway_env(env: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    return {**clean, "PYTHONUNBUFFERED": "1", **env}


def start_gateway(
    env: dict[str, str], *, args: tuple[str, ...] = (), cwd: Path | None = None
) -> GatewayProcess:
    """Start `python -m gateway` and wait until `/healthz` answers.

    The per-visitor request limit is off unless `env` sets it (every test request comes from 127.0.0.1),
    and so are retries and the circuit breaker, so that each scripted upstream failure reaches the client
    as it is.
    """
    return serving(spawn_gateway(env, args=args, cwd=cwd))


def start_gateways(*envs: dict[str, str]) -> list[GatewayProcess]:
    """Several gateways started side by side (on two cores, in about the time of one), each as above."""
    spawned = [spawn_gateway(env) for env in envs]
    try:
        return [serving(gateway) for gateway in spawned]
    except BaseException:
        for gateway in spawned:
            gateway.stop()
        raise


def spawn_gateway(
    env: dict[str, str], *, args: tuple[str, ...] = (), cwd: Path | None = None
) -> GatewayProcess:
    port = free_port()
    workdir = cwd or Path(tempfile.mkdtemp(prefix="gateway-"))  # no stray .env is read
    log_path = workdir / f"gateway-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", *args],
            env=gateway_env(
                {
                    "GATEWAY_PORT": str(port),
                    "GATEWAY_REQUESTS_PER_MINUTE": "0",
                    "GATEWAY_RETRIES": "0",
                    "GATEWAY_BREAKER_FAILURES": "1000",
                    **env,
                }
            ),
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return GatewayProcess(f"http://127.0.0.1:{port}", process, log_path)


def serving(gateway: GatewayProcess) -> GatewayProcess:
    """The gateway, once it answers; a failed start is stopped and raised with its log."""
    if not wait_until_serving(gateway.url, gateway.process):
        gateway.stop()
        raise RuntimeError(
            f"gateway did not start (exit code {gateway.process.returncode}):\n{gateway.log()}"
        )
    return gateway


def wait_until_serving(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> bool:
    """True once `/healthz` answers; False if the process exits or time runs out first.

    A start takes about a second; the bound is generous because a busy 2-core machine running several
    gateways, browsers and builds at once can be many times slower, and a failed start ends the wait.
    One client for every attempt: `httpx.get` builds a TLS context per call (~20 ms of CPU), which over a
    start's few dozen attempts took a second of CPU from the process being waited for.
    """
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if client.get(url + "/healthz").status_code == 200:
                    return True
            except httpx.TransportError:
                time.sleep(0.05)
    return False
