"""A gateway's memory under a flood of large conversations kept in process (no REDIS_URL).

Starts `python -m gateway` with the echo provider and conversations on, then sends one large turn to each
of many new conversations (4-byte characters, the widest UTF-8: the reply echoes it, so each conversation
holds twice the message) and reports the process's resident memory before, during and after, beside
GATEWAY_CONVERSATION_MEMORY_BYTES. Without a byte bound, memory would grow by what was written.
Run: python -m bench.conversation_memory [--conversations 1500] [--memory-mib 64]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import httpx

from bench.__main__ import free_port, memory_kb, start, stop

WIDE = "\N{GRINNING FACE}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=1500)
    parser.add_argument("--chars", type=int, default=30_000, help="characters of each conversation's message")
    parser.add_argument("--memory-mib", type=int, default=64, help="GATEWAY_CONVERSATION_MEMORY_BYTES in MiB")
    args = parser.parse_args()
    port = free_port()
    env = {
        "GATEWAY_PORT": str(port),
        "GATEWAY_PROVIDER": "echo",
        "GATEWAY_ECHO_DELAY": "0",
        "GATEWAY_CONVERSATIONS": "true",
        "GATEWAY_CONVERSATION_MEMORY_BYTES": str(args.memory_mib * 1024 * 1024),
        "GATEWAY_REQUESTS_PER_MINUTE": "0",
        "GATEWAY_TOKENS_PER_DAY": "0",
        "GATEWAY_LOG_LEVEL": "warning",
    }
    env.pop("REDIS_URL", None)
    process = start([sys.executable, "-m", "gateway"], env, port)
    body = json.dumps({"messages": [{"role": "user", "text": WIDE * args.chars}]})
    written = 0
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            client.post("/chat", content=body, headers={"content-type": "application/json"})
            before = memory_kb(process.pid, "VmRSS")
            started = time.perf_counter()
            for number in range(args.conversations):
                conversation = f"bench-conversation-{number:08d}-padding"
                response = client.post(
                    "/chat",
                    content=body,
                    headers={"content-type": "application/json", "x-conversation-id": conversation},
                )
                response.raise_for_status()
                written += 2 * len(WIDE.encode()) * args.chars  # the message and its echo, encoded
                if number % max(1, args.conversations // 5) == 0:
                    rss = memory_kb(process.pid, "VmRSS") // 1024
                    print(f"{number:>6} conversations, {written / 2**20:5.0f} MiB written, RSS {rss} MiB")
            seconds = time.perf_counter() - started
            after = memory_kb(process.pid, "VmRSS")
            peak = memory_kb(process.pid, "VmHWM")
    finally:
        stop(process)
    print(
        f"bound {args.memory_mib} MiB; {args.conversations} conversations, {written / 2**20:.0f} MiB of "
        f"conversation written in {seconds:.0f} s; RSS {before / 1024:.0f} MiB before, "
        f"{after / 1024:.0f} MiB after (peak {peak / 1024:.0f} MiB): grew {(after - before) / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
