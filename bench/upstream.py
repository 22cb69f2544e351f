"""A fast fake provider for benchmarks: OpenAI and Anthropic streaming, N deltas, optional delay.

Raw asyncio (uvloop when present) with prebuilt frames, so the upstream is never the bottleneck.
Run: python -m bench.upstream --port 9100 --deltas 20 --delay 0 [--latency 1.5]
"""

from __future__ import annotations

import argparse
import asyncio
import json

DELTA = "tok "


def _openai_frames(deltas: int) -> list[bytes]:
    def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
        body = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1764000000,
            "model": "bench",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"

    usage = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1764000000,
        "model": "bench",
        "choices": [],
        "usage": {"prompt_tokens": 5, "completion_tokens": deltas, "total_tokens": deltas + 5},
    }
    return (
        [chunk({"role": "assistant", "content": ""})]
        + [chunk({"content": DELTA})] * deltas
        + [chunk({}, "stop"), b"data: " + json.dumps(usage).encode() + b"\n\n", b"data: [DONE]\n\n"]
    )


def _anthropic_frames(deltas: int) -> list[bytes]:
    def event(name: str, data: dict[str, object]) -> bytes:
        return f"event: {name}\ndata: ".encode() + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

    start = event(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_bench",
                "type": "message",
                "role": "assistant",
                "model": "bench",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": 1},
            },
        },
    )
    delta = event(
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": DELTA}},
    )
    return (
        [
            start,
            event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
        ]
        + [delta] * deltas
        + [
            event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": deltas},
                },
            ),
            event("message_stop", {"type": "message_stop"}),
        ]
    )


def _chunked(frame: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(frame), frame)


HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
    b"connection: keep-alive\r\n\r\n"
)


class Upstream(asyncio.Protocol):
    def __init__(self, frames: dict[str, list[bytes]], delay: float, latency: float) -> None:
        self.frames = frames
        self.delay = delay
        self.latency = latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.replying: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._next()

    def _next(self) -> None:
        if self.busy:
            return
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end].decode("latin-1").lower()
        length = 0
        for line in head.split("\r\n"):
            if line.startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if len(self.buffer) < head_end + 4 + length:
            return
        path = head.split(" ", 2)[1]
        self.buffer = self.buffer[head_end + 4 + length :]
        frames = self.frames["anthropic" if path.startswith("/v1/messages") else "openai"]
        self.busy = True
        self.replying = asyncio.ensure_future(self._reply(frames, close="connection: close" in head))

    async def _reply(self, frames: list[bytes], close: bool) -> None:
        assert self.transport is not None
        if self.latency:  # a provider that thinks before it answers
            await asyncio.sleep(self.latency)
            if self.transport.is_closing():
                return
        if self.delay:
            self.transport.write(HEAD)
            for frame in frames:
                await asyncio.sleep(self.delay)
                if self.transport.is_closing():
                    return
                self.transport.write(_chunked(frame))
        else:  # every delta still its own chunk, as a real provider sends them
            self.transport.write(HEAD + b"".join(_chunked(frame) for frame in frames))
        self.transport.write(b"0\r\n\r\n")
        if close:
            self.transport.close()
            return
        self.busy = False
        self._next()


async def serve(port: int, deltas: int, delay: float, latency: float) -> None:
    frames = {"openai": _openai_frames(deltas), "anthropic": _anthropic_frames(deltas)}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Upstream(frames, delay, latency), "127.0.0.1", port, backlog=4096
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fast fake OpenAI/Anthropic upstream for benchmarks.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deltas", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between deltas")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before the reply starts")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(serve(args.port, args.deltas, args.delay, args.latency))
    except ImportError:
        asyncio.run(serve(args.port, args.deltas, args.delay, args.latency))


if __name__ == "__main__":
    main()
