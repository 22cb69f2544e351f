"""Serving the app with uvicorn: one process, or several workers under a supervisor.

uvicorn's own supervisor restarts its workers on SIGHUP; ours passes SIGHUP on instead, so that each
worker reloads the profiles file itself and no reply in flight is cut.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import signal
import sys
from collections.abc import Iterator

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from gateway.process.http_protocol import HeadDeadlineProtocol
from gateway.process.settings import Settings


def raise_file_limit() -> None:
    """Every open stream holds two sockets (client and provider): allow as many as the system lets us."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):  # an unlimited hard limit is not a valid soft one
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Supervisor(Multiprocess):
    def handle_hup(self) -> None:
        for process in self.processes:
            if process.pid is not None:
                os.kill(process.pid, signal.SIGHUP)

    # A worker handles SIGHUP once its app has started; until then SIGHUP's default would end it. Workers
    # are spawned with SIGHUP ignored (an ignored signal stays ignored in the child), and the supervisor
    # takes its own handler back at once.
    def init_processes(self) -> None:
        with _hup_ignored():
            super().init_processes()

    def keep_subprocess_alive(self) -> None:
        with _hup_ignored():
            super().keep_subprocess_alive()

    def handle_ttin(self) -> None:
        with _hup_ignored():
            super().handle_ttin()


@contextlib.contextmanager
def _hup_ignored() -> Iterator[None]:
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


def serve(settings: Settings) -> None:
    raise_file_limit()
    config = uvicorn.Config(
        "gateway.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        # The client address is taken from X-Forwarded-For only when the peer is a trusted proxy.
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        # SIGTERM: stop accepting, let replies finish this long, then end the rest with an error frame.
        timeout_graceful_shutdown=settings.drain_seconds,
        server_header=False,
        # Websockets get keep-alives like the streams: a ping frame after the same silence as `: ping`.
        ws_ping_interval=settings.keepalive_seconds,
        access_log=False,  # the gateway writes its own JSON line per request (gateway.access)
        http=functools.partial(HeadDeadlineProtocol, header_timeout=settings.header_timeout),  # type: ignore[arg-type]
    )
    if settings.workers > 1:
        Supervisor(config, sockets=[config.bind_socket()]).run()
        return
    if settings.config:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the app's own handler reloads the profiles
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
