"""A constant-rate (open-loop) load generator: request i leaves at start + i / rate, whatever came before.

`hey -q` paces each of its workers on a ticker of its own, and all the tickers start together: with the
1,500 workers that 500 requests/s at 1.5 s need, it sends 1,500 requests in the same instant every 3 s
instead of one every 2 ms. Latency is counted from the moment a request was due, not from when it left,
so a generator that falls behind charges its lag to the target rather than hiding it (no coordinated
omission); the lag itself is reported too.

Run: python -m bench.open_loop --url http://127.0.0.1:8000/v1/chat/completions --rate 500 --seconds 60
     --body '{"messages": [...]}'   (prints one JSON object)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from dataclasses import asdict, dataclass

import aiohttp
import uvloop  # the gateway runs on it too (uvicorn[standard])

from bench.__main__ import percentile


@dataclass
class Outcome:
    sent: int
    ok: int  # answered 200 with a whole body
    statuses: dict[str, int]  # status (or the exception's name) -> count
    achieved: float  # 200s a second, from the first due time to the last answer
    p50: float
    p99: float
    max_lag: float  # seconds the generator itself sent a request after it was due
    cpu_share: float  # the generator's own CPU (user and system) over its running time


async def attack(url: str, body: bytes, rate: float, seconds: float, limit: float) -> Outcome:
    began = time.monotonic()
    connector = aiohttp.TCPConnector(limit=0)  # as many connections as requests in flight
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    lags: list[float] = []
    finished = 0.0

    async def one(session: aiohttp.ClientSession, due: float) -> None:
        nonlocal finished
        lags.append(time.monotonic() - due)
        try:
            async with session.post(url, data=body, headers={"content-type": "application/json"}) as reply:
                await reply.read()
                outcome = str(reply.status)
        except (TimeoutError, aiohttp.ClientError) as error:
            outcome = type(error).__name__
        now = time.monotonic()
        statuses[outcome] = statuses.get(outcome, 0) + 1
        if outcome == "200":
            latencies.append(now - due)
            finished = max(finished, now)

    client_timeout = aiohttp.ClientTimeout(total=limit)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        total = int(rate * seconds)
        start = time.monotonic() + 0.1
        tasks = []
        for i in range(total):
            due = start + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(session, due)))
        await asyncio.gather(*tasks)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Outcome(
        sent=total,
        ok=len(latencies),
        statuses=statuses,
        achieved=len(latencies) / max(1e-9, finished - start),
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        max_lag=max(lags, default=0.0),
        cpu_share=(usage.ru_utime + usage.ru_stime) / (time.monotonic() - began),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True, help="the JSON body every request posts")
    parser.add_argument("--rate", type=float, default=500, help="requests a second")
    parser.add_argument("--seconds", type=float, default=60, help="seconds of sending")
    parser.add_argument("--timeout", type=float, default=30, help="seconds a request may take in all")
    args = parser.parse_args()
    outcome = uvloop.run(attack(args.url, args.body.encode(), args.rate, args.seconds, args.timeout))
    print(json.dumps(asdict(outcome)))


if __name__ == "__main__":
    main()
