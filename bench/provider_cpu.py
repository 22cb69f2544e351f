"""CPU per streamed reply in the provider layer alone: the adapter and its resilience wrapper, in process.

The whole-gateway run (`python -m bench`) is what counts, but on a shared machine its noise hides a change
of a few hundred microseconds a stream; this isolates how the adapters call their provider.
Run: python -m bench.provider_cpu --provider openai --streams 3000 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from bench.__main__ import free_port, start, stop
from domain.events import TextDelta
from domain.messages import Message, TextPart
from domain.request import ChatRequest
from providers import build_chain
from providers.config import ProviderOptions
from providers.resilient import RetryPolicy

REQUEST = ChatRequest((Message("user", (TextPart("Tell me a story"),)),))
ENV = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL", "/v1"),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", ""),
}


async def run(provider_name: str, streams: int, concurrency: int) -> tuple[float, float, int]:
    provider = build_chain(
        [(provider_name, ProviderOptions(model="bench", env_file=None))],
        RetryPolicy(retries=0),
        breaker_threshold=1_000_000,
        breaker_reset=1.0,
    )
    deltas = 0

    async def worker(count: int) -> None:
        nonlocal deltas
        for _ in range(count):
            async for event in provider.stream(REQUEST):
                deltas += type(event) is TextDelta

    await asyncio.gather(*(worker(20) for _ in range(concurrency)))  # warm the pool
    deltas = 0
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(streams // concurrency) for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await provider.aclose()
    done = streams // concurrency * concurrency
    return cpu / done, done / wall, deltas // done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--provider", choices=sorted(ENV), default="openai")
    parser.add_argument("--streams", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--deltas", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    upstream = start(
        [sys.executable, "-m", "bench.upstream", "--port", str(port), "--deltas", str(args.deltas)], {}, port
    )
    key, base_url, suffix = ENV[args.provider]
    os.environ.update({key: "bench", base_url: f"http://127.0.0.1:{port}{suffix}"})
    try:
        import uvloop  # the gateway runs on uvloop (uvicorn[standard])

        cpu, rate, deltas = uvloop.run(run(args.provider, args.streams, args.concurrency))
    finally:
        stop(upstream)
    print(f"{args.provider}: {cpu * 1e6:.0f} µs CPU a stream of {deltas} deltas, {rate:.0f} streams/s")


if __name__ == "__main__":
    main()
