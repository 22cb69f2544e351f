"""Run the repository's config/nginx.conf with a real nginx on loopback.

Only what a deployment would change is substituted: the listen address, the upstream servers, where the
access log goes, and (for one test) the proxy read timeout.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.gateway_process import ROOT, end_process, free_port

CONFIG = ROOT / "config" / "nginx.conf"
UPSTREAM_LINE = "        server gateway:8000 max_fails=1 fail_timeout=5s resolve;\n"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        message = "nginx is missing; install Debian's nginx package (make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # under CI a missing component is a failure, never a skip
        pytest.skip(message)
    return found


@dataclass
class Nginx:
    url: str
    process: subprocess.Popen[bytes]
    directory: Path

    def stop(self) -> None:
        end_process(self.process, signal.SIGQUIT)  # nginx's graceful stop


def start_nginx(upstreams: list[str], *, read_timeout: str | None = None) -> Nginx:
    config = CONFIG.read_text()
    assert UPSTREAM_LINE in config and "listen 8080;" in config and "access_log /dev/stdout " in config, (
        "config/nginx.conf changed shape"
    )
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="nginx-"))
    # Fixed addresses on loopback: no name to resolve again (and Debian's nginx has no `resolve`).
    servers = "".join(
        UPSTREAM_LINE.replace("gateway:8000", upstream.removeprefix("http://")).replace(" resolve;", ";")
        for upstream in upstreams
    )
    config = config.replace(UPSTREAM_LINE, servers).replace("listen 8080;", f"listen 127.0.0.1:{port};")
    config = config.replace("access_log /dev/stdout ", f"access_log {directory}/access.log ")
    if read_timeout is not None:
        config = config.replace("proxy_read_timeout 300s;", f"proxy_read_timeout {read_timeout};")
    (directory / "nginx.conf").write_text(config)
    process = subprocess.Popen(
        [
            nginx_binary(),
            "-p",
            str(directory),
            "-c",
            str(directory / "nginx.conf"),
            "-g",
            f"daemon off; pid {directory}/nginx.pid; error_log {directory}/error.log;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    nginx = Nginx(f"http://127.0.0.1:{port}", process, directory)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(nginx.url + "/healthz", timeout=1)
            return nginx
        except httpx.TransportError:
            time.sleep(0.05)
    error_log = (directory / "error.log").read_text() if (directory / "error.log").exists() else ""
    nginx.stop()
    raise RuntimeError(f"nginx did not start:\n{error_log}")
