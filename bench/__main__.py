"""Benchmark the gateway side by side with its baselines, in one run: `make bench` (or `--smoke`).

Targets, each measured alone with one worker against the same fast fake upstream (bench/upstream.py):
the upstream directly; a raw Python byte relay (the floor); a seed-article-style gateway; this gateway
on the openai and the anthropic provider. Figures are reported as ratios to the baselines of the same
run, since absolute numbers on a shared 2-core machine mean little.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEEP_CHAT_BODY = json.dumps({"messages": [{"role": "user", "text": "Tell me a story"}]})
OPENAI_BODY = json.dumps(
    {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "Tell me"}]}
)


@dataclass
class Target:
    name: str
    path: str
    body: str
    command: list[str] = field(default_factory=list)  # empty: the upstream itself
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    name: str
    streams_per_s: float = 0.0
    ttfd_p50: float = 0.0
    ttfd_p99: float = 0.0
    last_p50: float = 0.0
    last_p99: float = 0.0
    cpu_ms_per_stream: float = 0.0
    peak_rss_mb: float = 0.0
    errors: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for_port(port)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int, key: str) -> int:
    match = re.search(rf"{key}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match[1]) if match else 0


async def one_stream(port: int, path: str, body: str) -> tuple[float, float, bool]:
    """Seconds to the first `data:` and to the end of one streamed reply, on a fresh connection."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = body.encode()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Accept: text/event-stream\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )
    first = 0.0
    received = b""
    while chunk := await reader.read(65536):
        received += chunk
        if not first and b"data:" in received:
            first = time.perf_counter() - started
    writer.close()
    ok = received.startswith(b"HTTP/1.1 200") and received.endswith(b"0\r\n\r\n")
    return first, time.perf_counter() - started, ok


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def latencies(port: int, target: Target, samples: int) -> tuple[list[float], list[float], int]:
    firsts, lasts, errors = [], [], 0
    for _ in range(samples):
        first, last, ok = await one_stream(port, target.path, target.body)
        errors += not ok
        firsts.append(first)
        lasts.append(last)
    return firsts, lasts, errors


def wrk(port: int, target: Target, connections: int, seconds: int) -> tuple[float, float, float, int]:
    """Streams per second, p50 and p99 of the whole reply, and errors, under load."""
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(ROOT / "bench" / "post.lua"),
            f"http://127.0.0.1:{port}{target.path}",
        ],
        env={**os.environ, "BENCH_BODY": target.body},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]

    def latency(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output)
        if not match:
            return 0.0
        return float(match[1]) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[match[2]]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failed = int(errors[1]) if errors else 0
    failed += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return rate, latency("50"), latency("99"), failed


def measure(target: Target, upstream_port: int, args: argparse.Namespace) -> Result:
    port = upstream_port
    process = None
    if target.command:
        port = free_port()
        command = [part.replace("{port}", str(port)) for part in target.command]
        env = {key: value.replace("{upstream}", str(upstream_port)) for key, value in target.env.items()}
        process = start(command, env, port)
    pid = process.pid if process else upstream_pid(upstream_port)
    try:
        asyncio.run(latencies(port, target, 5))  # warm up connection pools and caches
        firsts, _, errors = asyncio.run(latencies(port, target, args.samples))
        cpu_before = cpu_seconds(pid)
        rate, last_p50, last_p99, failed = wrk(port, target, args.connections, args.duration)
        cpu = cpu_seconds(pid) - cpu_before
        streams = max(1.0, rate * args.duration)
        return Result(
            target.name,
            rate,
            percentile(firsts, 0.5),
            percentile(firsts, 0.99),
            last_p50,
            last_p99,
            cpu / streams * 1000,
            memory_kb(pid, "VmHWM") / 1024,
            errors + failed,
        )
    finally:
        if process:
            stop(process)


UPSTREAM_PIDS: dict[int, int] = {}


def upstream_pid(port: int) -> int:
    return UPSTREAM_PIDS[port]


@dataclass
class Held:
    """Many slow streams open at once on one worker."""

    count: int
    errors: int
    per_stream_kb: float
    cpu_ms_per_stream: float
    first_p50: float
    first_p99: float
    health_p50: float
    health_max: float


async def hold_streams(port: int, path: str, body: str, count: int, pid: int) -> Held:
    """Open `count` slow streams at once; watch memory, and how long `/healthz` takes meanwhile."""
    before = memory_kb(pid, "VmRSS")
    cpu_before = cpu_seconds(pid)
    peak = before
    done = 0
    health: list[float] = []

    async def watch() -> None:
        nonlocal peak
        while done < count:
            peak = max(peak, memory_kb(pid, "VmRSS"))
            started = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            await reader.read()
            writer.close()
            health.append(time.perf_counter() - started)
            await asyncio.sleep(0.2)

    async def stream() -> tuple[float, bool]:
        nonlocal done
        try:
            first, _, ok = await one_stream(port, path, body)
            return first, ok
        except OSError:
            return 0.0, False
        finally:
            done += 1

    watcher = asyncio.ensure_future(watch())
    results = await asyncio.gather(*(stream() for _ in range(count)))
    watcher.cancel()
    firsts = [first for first, ok in results if ok]
    return Held(
        count,
        [ok for _, ok in results].count(False),
        (peak - before) / count,
        (cpu_seconds(pid) - cpu_before) / count * 1000,
        percentile(firsts, 0.5),
        percentile(firsts, 0.99),
        percentile(health, 0.5),
        max(health, default=0.0),
    )


def concurrency(args: argparse.Namespace) -> Held:
    slow_port = free_port()
    upstream = start(
        [
            sys.executable,
            "-m",
            "bench.upstream",
            "--port",
            str(slow_port),
            "--deltas",
            "20",
            "--delay",
            str(args.slow_delay),
        ],
        {},
        slow_port,
    )
    port = free_port()
    gateway = start(
        [sys.executable, "-m", "gateway", "--port", str(port)],
        {
            **gateway_env(),
            "GATEWAY_PROVIDER": "openai",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{slow_port}/v1",
            "GATEWAY_MAX_STREAMS": str(args.concurrent),
        },
        port,
    )
    try:
        return asyncio.run(hold_streams(port, "/chat", DEEP_CHAT_BODY, args.concurrent, gateway.pid))
    finally:
        stop(gateway)
        stop(upstream)


@dataclass
class OpenLoop:
    """A constant rate offered for a while, whatever the replies take (Bifrost's published test)."""

    name: str
    offered: float
    seconds: int
    achieved: float
    success: float
    p50: float
    p99: float
    peak_rss_mb: float | None  # the target's; None for the provider itself, which is not measured
    generator_cpu: float  # share of one core the load generator used
    generator_lag: float  # seconds the generator sent a request late, at most


def open_loop(args: argparse.Namespace) -> list[OpenLoop]:
    """bench/open_loop.py offers the rate to the slow provider directly (the floor: the generator and
    the provider on this machine), then to the gateway in front of it."""
    upstream_port, port = free_port(), free_port()
    upstream = start(
        [
            sys.executable,
            "-m",
            "bench.upstream",
            "--port",
            str(upstream_port),
            "--latency",
            str(args.latency),
        ],
        {},
        upstream_port,
    )
    body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "Tell me"}]})
    in_flight = int(args.rate * args.latency * 4)  # room for replies slower than the provider's

    def offer(name: str, target_port: int, measured: subprocess.Popen[bytes] | None) -> OpenLoop:
        print(f"bench: open loop, {name}…", file=sys.stderr, flush=True)
        load = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.open_loop",
                "--url",
                f"http://127.0.0.1:{target_port}/v1/chat/completions",
                "--body",
                body,
                "--rate",
                str(args.rate),
                "--seconds",
                str(args.open_seconds),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        samples = []
        while load.poll() is None:
            if measured is not None:
                samples.append(tree_rss_mb(measured.pid))
            time.sleep(0.5)
        outcome = json.loads(load.communicate()[0])
        return OpenLoop(
            name,
            args.rate,
            args.open_seconds,
            outcome["achieved"],
            outcome["ok"] / max(1, outcome["sent"]),
            outcome["p50"],
            outcome["p99"],
            max(samples, default=None),
            outcome["cpu_share"],
            outcome["max_lag"],
        )

    try:
        direct = offer("the provider, direct", upstream_port, None)
        gateway = start(
            [sys.executable, "-m", "gateway", "--port", str(port)],
            {
                **gateway_env(),
                "GATEWAY_PROVIDER": "openai",
                "OPENAI_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
                "GATEWAY_MODEL": "bench",  # the model the request names
                "GATEWAY_WORKERS": "2",
                "GATEWAY_MAX_STREAMS": str(in_flight),
            },
            port,
        )
        try:
            asyncio.run(latencies(port, Target("warm", "/chat", DEEP_CHAT_BODY), 4))
            through = offer("this gateway, this machine", port, gateway)
        finally:
            stop(gateway)
    finally:
        stop(upstream)
    return [direct, through]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the supervisor and its workers)."""
    total = memory_kb(pid, "VmRSS")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            total += memory_kb(int(child), "VmRSS")
    return total / 1024


def gateway_env() -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "bench",
        "ANTHROPIC_API_KEY": "bench",
        "GATEWAY_REQUESTS_PER_MINUTE": "0",
        "GATEWAY_TOKENS_PER_DAY": "0",
        "GATEWAY_LOG_LEVEL": "warning",
    }


def targets() -> list[Target]:
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "--port",
        "{port}",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    gateway = [sys.executable, "-m", "gateway", "--port", "{port}", "--log-level", "warning"]
    return [
        Target("upstream, direct", "/v1/chat/completions", OPENAI_BODY),
        Target(
            "raw byte relay (floor)",
            "/chat",
            DEEP_CHAT_BODY,
            [*uvicorn, "bench.relay:app"],
            {"UPSTREAM_URL": "http://127.0.0.1:{upstream}/v1/chat/completions"},
        ),
        Target(
            "seed-article gateway",
            "/chat",
            DEEP_CHAT_BODY,
            [*uvicorn, "bench.seed:app"],
            {"OPENAI_BASE_URL": "http://127.0.0.1:{upstream}/v1", "OPENAI_API_KEY": "bench"},
        ),
        Target(
            "this gateway, openai",
            "/chat",
            DEEP_CHAT_BODY,
            gateway,
            {
                **gateway_env(),
                "GATEWAY_PROVIDER": "openai",
                "OPENAI_BASE_URL": "http://127.0.0.1:{upstream}/v1",
            },
        ),
        Target(
            "this gateway, anthropic",
            "/chat",
            DEEP_CHAT_BODY,
            gateway,
            {
                **gateway_env(),
                "GATEWAY_PROVIDER": "anthropic",
                "ANTHROPIC_BASE_URL": "http://127.0.0.1:{upstream}",
            },
        ),
    ]


def open_loop_row(run: OpenLoop) -> str:
    memory = "-" if run.peak_rss_mb is None else f"{run.peak_rss_mb:.0f}"
    return (
        f"| {run.name} | {run.achieved:.0f} | {run.success * 100:.1f}% "
        f"| {run.p50:.2f} / {run.p99:.2f} | {memory} |"
    )


def report(
    results: list[Result], args: argparse.Namespace, held: Held | None, steady: list[OpenLoop] | None
) -> str:
    by_name = {result.name: result for result in results}
    relay, seed, direct = (
        by_name["raw byte relay (floor)"],
        by_name["seed-article gateway"],
        by_name["upstream, direct"],
    )
    lines = [
        f"{args.deltas} deltas a reply, {args.connections} connections, {args.duration} s per target, "
        f"one worker; time to first delta over {args.samples} sequential streams, "
        "each on a fresh connection.",
        "",
        "| target | streams/s | x relay | x seed | first delta p50 / p99 (ms) | added vs direct p50 (ms) "
        "| last delta p50 / p99 under load (ms) | CPU ms / stream | peak RSS (MB) | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        ratios = f"{r.streams_per_s / relay.streams_per_s:.2f} | {r.streams_per_s / seed.streams_per_s:.2f}"
        first = f"{r.ttfd_p50 * 1000:.2f} / {r.ttfd_p99 * 1000:.2f}"
        added = f"{(r.ttfd_p50 - direct.ttfd_p50) * 1000:+.2f}"
        last = f"{r.last_p50 * 1000:.1f} / {r.last_p99 * 1000:.1f}"
        lines.append(
            f"| {r.name} | {r.streams_per_s:.0f} | {ratios} | {first} | {added} | {last} "
            f"| {r.cpu_ms_per_stream:.2f} | {r.peak_rss_mb:.0f} | {r.errors} |"
        )
    if held:
        lines += [
            "",
            f"{held.count} concurrent slow streams (20 deltas, {args.slow_delay} s apart) on one gateway "
            f"worker: {held.errors} errors, {held.per_stream_kb:.1f} KiB of resident memory per open stream, "
            f"{held.cpu_ms_per_stream:.1f} ms of CPU per stream, first delta p50 / p99 "
            f"{held.first_p50 * 1000:.0f} / {held.first_p99 * 1000:.0f} ms, `/healthz` meanwhile p50 / max "
            f"{held.health_p50 * 1000:.0f} / {held.health_max * 1000:.0f} ms.",
        ]
    if steady:
        through = steady[-1]
        lines += [
            "",
            f"Open loop, Bifrost's published 2-vCPU test: {through.offered:.0f} requests/s offered at a "
            f"constant rate for {through.seconds} s to `/v1/chat/completions` (not streamed), a provider "
            f"answering after {args.latency} s, `GATEWAY_WORKERS=2`; latency counted from when each request "
            f"was due (the generator used {through.generator_cpu * 100:.0f}% of a core and sent at most "
            f"{through.generator_lag * 1000:.0f} ms late):",
            "",
            "| target | requests/s | success | p50 / p99 latency (s) | peak memory (MB) |",
            "| --- | --- | --- | --- | --- |",
            *(open_loop_row(run) for run in steady),
            "| Bifrost (published) | 424 | 100% | - / 1.68 | 120 |",
            "| LiteLLM (published) | 44.8 | - | - | - |",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds end to end, for the test suite")
    parser.add_argument("--deltas", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per target")
    parser.add_argument("--samples", type=int, default=200, help="sequential streams for time to first delta")
    parser.add_argument(
        "--concurrent", type=int, default=1000, help="slow streams held open at once; 0: skip"
    )
    parser.add_argument("--slow-delay", type=float, default=0.5, help="seconds between slow deltas")
    parser.add_argument("--rate", type=float, default=500, help="open loop: requests a second offered")
    parser.add_argument(
        "--latency", type=float, default=1.5, help="open loop: the provider's seconds to answer"
    )
    parser.add_argument("--open-seconds", type=int, default=60, help="open loop: seconds of load; 0: skip")
    parser.add_argument("--only", help="measure only targets whose name contains this (and the baselines)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.md")
    args = parser.parse_args()
    if args.smoke:
        args.duration, args.samples, args.concurrent, args.connections, args.slow_delay = 1, 5, 20, 4, 0.05
        args.rate, args.latency, args.open_seconds = 20, 0.2, 2
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing; install Debian's wrk package (make test installs it)")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of sockets; children inherit it
    upstream_port = free_port()
    upstream = start(
        [sys.executable, "-m", "bench.upstream", "--port", str(upstream_port), "--deltas", str(args.deltas)],
        {},
        upstream_port,
    )
    UPSTREAM_PIDS[upstream_port] = upstream.pid
    try:
        results = []
        baselines = ("upstream, direct", "raw byte relay (floor)", "seed-article gateway")
        for target in targets():
            if args.only and args.only not in target.name and target.name not in baselines:
                continue
            print(f"bench: {target.name}…", file=sys.stderr, flush=True)
            results.append(measure(target, upstream_port, args))
    finally:
        stop(upstream)
    held = concurrency(args) if args.concurrent else None
    steady = open_loop(args) if args.open_seconds else None
    table = report(results, args, held, steady)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
