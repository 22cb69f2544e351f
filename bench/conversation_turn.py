"""What one conversation turn costs in Redis, on a large conversation against a small one.

A turn reads what the provider is reminded of (the newest messages within the budget) and stores the
user's message and the reply. The store appends and reads only that budget; the store it replaced read and
rewrote the whole conversation (one JSON string, GET then SET), which this measures beside it. Each case
runs against a real local redis-server started here, one turn after another; bytes are what the server
received and sent (INFO stats), so they do not depend on how busy the machine is.
Run: python -m bench.conversation_turn [--turns 200]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
import redis.asyncio as redis

from bench.__main__ import free_port
from gateway.conversations.redis_store import RedisStore
from gateway.conversations.store import Bounds, StoredMessage
from gateway.process.settings import Settings

SETTINGS = Settings(_env_file=None)  # the defaults: budget, max messages and characters, TTL
BOUNDS = Bounds(SETTINGS.max_messages, SETTINGS.max_total_chars)
TURN: list[StoredMessage] = [
    {"role": "user", "text": "And one more question?"},
    {"role": "ai", "text": "Yes."},
]


@dataclass
class Case:
    store: str
    conversation: str
    messages: list[StoredMessage]


def conversation(count: int, chars: int) -> list[StoredMessage]:
    return [
        {"role": "user" if n % 2 == 0 else "ai", "text": f"{n} " + "x" * (chars - 3)} for n in range(count)
    ]


SMALL = conversation(4, 40)
AT_THE_BOUNDS = conversation(SETTINGS.max_messages, SETTINGS.max_total_chars // SETTINGS.max_messages)
# What the replaced store kept: up to 1000 turns of any size (31 MB seen in a review).
UNBOUNDED = conversation(1000, 31_000)


class WholeStringStore:
    """The store this replaced: the whole conversation, one JSON string, read and rewritten each turn."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    async def turn(self, key: str) -> None:
        raw = await self.client.get(key)
        turns: list[StoredMessage] = orjson.loads(raw) if raw else []
        await self.client.set(key, orjson.dumps([*turns, *TURN][-1000:]), ex=SETTINGS.conversation_ttl)


async def measure(port: int, turn: Callable[[int], Awaitable[object]], turns: int) -> tuple[float, int, int]:
    """Mean seconds, bytes received and bytes sent by Redis per turn."""
    info = redis.Redis(port=port)
    before = await info.info("stats")
    started = time.perf_counter()
    for number in range(turns):
        await turn(number)
    elapsed = time.perf_counter() - started
    after = await info.info("stats")
    await info.aclose()
    received = after["total_net_input_bytes"] - before["total_net_input_bytes"]
    sent = after["total_net_output_bytes"] - before["total_net_output_bytes"]
    return elapsed / turns, received // turns, sent // turns


async def run(port: int, turns: int) -> list[tuple[str, str, float, int, int]]:
    """Each measured turn is the next turn of its own conversation, filled before the clock starts."""
    client = redis.Redis(port=port)
    store, old = RedisStore(client), WholeStringStore(client)
    budget, ttl = SETTINGS.conversation_budget_chars, SETTINGS.conversation_ttl
    rows = []
    for name, messages in (("small", SMALL), ("at the bounds", AT_THE_BOUNDS)):
        for number in range(turns):
            await store.append(f"bench:{name}:{number}", messages, ttl, BOUNDS, replace=True)

        async def turn(number: int, name: str = name) -> None:
            key = f"bench:{name}:{number}"
            await store.recent(key, budget, 0)
            await store.append(key, TURN, ttl, BOUNDS)

        rows.append(("append (this store)", name, *await measure(port, turn, turns)))
    await client.flushall()
    for name, messages in (("small", SMALL), ("at the bounds", AT_THE_BOUNDS), ("31 MB", UNBOUNDED)):
        count = turns if len(messages) < 1000 else max(3, turns // 50)  # 31 MB turns are slow and big
        encoded = orjson.dumps(messages)
        for number in range(count):
            await client.set(f"bench:old:{name}:{number}", encoded)

        async def old_turn(number: int, name: str = name) -> None:
            await old.turn(f"bench:old:{name}:{number}")

        rows.append(("whole string (before)", name, *await measure(port, old_turn, count)))
        await client.flushall()
    await client.aclose()
    return rows


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=200, help="turns measured per case")
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is missing; install Debian's redis-server package")
    port = free_port()
    directory = tempfile.mkdtemp(prefix="bench-redis-")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        rows = asyncio.run(run(port, args.turns))
    finally:
        server.terminate()
        server.wait(10)
    print(f"budget {SETTINGS.conversation_budget_chars} characters; bounds {BOUNDS}")
    print("| store | conversation | ms a turn | bytes to Redis | bytes from Redis |")
    print("| --- | --- | ---: | ---: | ---: |")
    for store, name, seconds, received, sent in rows:
        print(f"| {store} | {name} | {seconds * 1000:.2f} | {received:,} | {sent:,} |")
    small, bounded = rows[0][2], rows[1][2]
    print(f"append store: a turn at the bounds costs {bounded / small:.1f}x a small one")
    print(
        f"whole string: {rows[3][2] / rows[2][2]:.1f}x at the bounds, {rows[4][2] / rows[2][2]:.0f}x at 31 MB"
    )


if __name__ == "__main__":
    main()
