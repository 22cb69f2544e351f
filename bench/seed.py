"""The seed-article gateway: FastAPI, one shared AsyncOpenAI, StreamingResponse of `data: {"text": ...}`.

Run: uvicorn bench.seed:app (OPENAI_BASE_URL=http://127.0.0.1:9100/v1)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI

app = FastAPI()
client = AsyncOpenAI(api_key="bench")


@app.post("/chat")
async def chat(request: Request) -> StreamingResponse:
    body: dict[str, Any] = await request.json()
    messages = [
        {"role": "user" if m["role"] == "user" else "assistant", "content": m["text"]}
        for m in body["messages"]
    ]

    async def stream() -> AsyncIterator[str]:
        response = await client.chat.completions.create(model="bench", messages=messages, stream=True)  # type: ignore[arg-type]
        async for chunk in response:
            if chunk.choices and chunk.choices[0].delta.content:
                yield f"data: {json.dumps({'text': chunk.choices[0].delta.content})}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")
