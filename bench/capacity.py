"""Figures for the README's capacity section: `.venv/bin/python -m bench.capacity` (loopback only).

- Redis commands per request (INFO commandstats around a batch of requests, which counts the commands a
  Lua script runs too) and round trips per request (what the gateway sends, seen through MONITOR), for
  the shared rate limit, the token budget and conversations, each added in turn.
- One gateway worker's resident memory idle and with many streams open, and its CPU per streamed delta.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine

import redis

from bench.__main__ import ROOT, cpu_seconds, free_port, memory_kb, one_stream, start, stop

CONVERSATION = "capacity-measure-conversation-0001"


def redis_server() -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    directory = tempfile.mkdtemp(prefix="capacity-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory],
        stdout=subprocess.DEVNULL,
    )
    return process, port


def redis_cli(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, check=True
    ).stdout


def command_counts(port: int) -> dict[str, int]:
    counts = {}
    for line in redis_cli(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, stats = line.partition(":")
            counts[name.removeprefix("cmdstat_")] = int(stats.split(",")[0].removeprefix("calls="))
    return counts


def round_trips(port: int, batch: Coroutine[None, None, None]) -> int:
    """Commands the clients sent while `batch` ran: MONITOR shows those and, apart, the commands each
    Lua script ran inside Redis."""
    done = "capacity-batch-done"
    marker = redis.Redis(port=port)
    marker.ping()  # its connection's set-up commands come before MONITOR starts
    with redis.Redis(port=port).monitor() as monitor:
        asyncio.run(batch)
        marker.echo(done)  # the last command MONITOR will show
        sent = 0
        for command in monitor.listen():
            if command["command"] == f"ECHO {done}":
                return sent
            sent += command["client_type"] != "lua"
    raise RuntimeError("MONITOR ended early")


def gateway(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    base = {"GATEWAY_PORT": str(port), "GATEWAY_PROVIDER": "echo", "GATEWAY_LOG_LEVEL": "warning"}
    return start([sys.executable, "-m", "gateway"], {**base, **env}, port), port


async def requests(port: int, count: int, headers: str = "") -> None:
    body = json.dumps({"messages": [{"role": "user", "text": "hello there friend"}]}).encode()
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"POST /chat HTTP/1.1\r\nHost: capacity\r\nContent-Type: application/json\r\n{headers}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        reply = await reader.read()
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        writer.close()


def redis_per_request(count: int) -> None:
    redis, redis_port = redis_server()
    time.sleep(0.5)
    limits = {"GATEWAY_REQUESTS_PER_MINUTE": "1000000", "GATEWAY_TOKENS_PER_DAY": "1000000000"}
    scenarios = {
        "request limit only": {**limits, "GATEWAY_TOKENS_PER_DAY": "0"},
        "request limit and token budget (the defaults)": limits,
        "both, and conversations": {**limits, "GATEWAY_CONVERSATIONS": "true"},
    }
    try:
        print(
            "| settings | Redis commands per request | of which | round trips per request |\n"
            "| --- | --- | --- | --- |"
        )
        for name, settings in scenarios.items():
            process, port = gateway(
                {"REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "GATEWAY_ECHO_DELAY": "0", **settings}
            )
            headers = f"X-Conversation-Id: {CONVERSATION}\r\n"
            try:
                asyncio.run(requests(port, 5, headers))  # warm up
                before = command_counts(redis_port)
                asyncio.run(requests(port, count, headers))
                after = command_counts(redis_port)
                trips = round_trips(redis_port, requests(port, count, headers))
            finally:
                stop(process)
            used = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            used = {k: v for k, v in used.items() if v and k not in ("info", "config|resetstat")}
            detail = ", ".join(f"{k} {v / count:g}" for k, v in sorted(used.items(), key=lambda kv: -kv[1]))
            print(f"| {name} | {sum(used.values()) / count:g} | {detail} | {trips / count:g} |")
    finally:
        stop(redis)


async def hold_streams(port: int, count: int) -> list[bool]:
    body = json.dumps({"messages": [{"role": "user", "text": " ".join(["word"] * 20)}]})
    results = await asyncio.gather(*(one_stream(port, "/chat", body) for _ in range(count)))
    return [ok for _, _, ok in results]


def memory_and_cpu(streams: int) -> None:
    settings = {"GATEWAY_ECHO_DELAY": "0.5", "GATEWAY_MAX_STREAMS": str(streams * 2)}
    process, port = gateway({**settings, "GATEWAY_REQUESTS_PER_MINUTE": "0", "GATEWAY_TOKENS_PER_DAY": "0"})
    try:
        asyncio.run(hold_streams(port, 20))  # warm up: imports, pools, first allocations
        idle = memory_kb(process.pid, "VmRSS")
        cpu_before = cpu_seconds(process.pid)
        peak = 0

        async def sample() -> list[bool]:
            nonlocal peak
            task = asyncio.ensure_future(hold_streams(port, streams))
            while not task.done():
                peak = max(peak, memory_kb(process.pid, "VmRSS"))
                await asyncio.sleep(0.2)
            return await task

        results = asyncio.run(sample())
        cpu = cpu_seconds(process.pid) - cpu_before
        print(
            f"one worker, echo provider: {idle / 1024:.0f} MiB resident when idle; {streams} streams of 20 "
            f"deltas 0.5 s apart held at once: {sum(results)} whole, peak {peak / 1024:.0f} MiB "
            f"({(peak - idle) / streams:.0f} KiB per open stream), {cpu * 1000 / streams:.1f} ms CPU per "
            f"stream ({cpu * 1000 / streams / 20:.2f} ms per delta)"
        )
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="requests per Redis scenario")
    parser.add_argument("--streams", type=int, default=1000, help="streams held open at once")
    args = parser.parse_args()
    print(f"capacity figures, {time.strftime('%Y-%m-%d')}, from {ROOT.name}\n")
    redis_per_request(args.requests)
    print()
    memory_and_cpu(args.streams)


if __name__ == "__main__":
    main()
