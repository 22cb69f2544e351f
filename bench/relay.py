"""The floor: a raw Python byte relay (Starlette + httpx), no parsing, no translation.

Run: uvicorn bench.relay:app (UPSTREAM_URL=http://127.0.0.1:9100/v1/chat/completions)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

UPSTREAM = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:9100/v1/chat/completions")
client = httpx.AsyncClient(
    timeout=60, limits=httpx.Limits(max_connections=None, max_keepalive_connections=512)
)


async def relay(request: Request) -> StreamingResponse:
    body = await request.body()
    upstream = client.build_request(
        "POST", UPSTREAM, content=body, headers={"content-type": "application/json"}
    )
    response = await client.send(upstream, stream=True)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        finally:
            await response.aclose()

    return StreamingResponse(chunks(), media_type="text/event-stream")


app = Starlette(routes=[Route("/chat", relay, methods=["POST"])])
