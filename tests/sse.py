"""Read an SSE body the way Deep Chat's parser (fetch-event-source) does."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import httpx


class HasURL(Protocol):
    url: str


def events(lines: Iterable[str]) -> Iterator[Any]:
    """JSON `data` of each event: dispatched at a blank line, `:` comments and other fields ignored."""
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield json.loads("\n".join(data))
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    # An event without its closing blank line is lost, as in the browser.


def comments(body: str) -> list[str]:
    return [line for line in body.split("\n") if line.startswith(":")]


def chat_body(text: str = "Hi there", **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "text": text}], **extra}


STREAM_HEADERS = {"accept": "text/event-stream"}


def stream_chat(gateway: HasURL, body: dict[str, Any]) -> tuple[httpx.Response, list[Any]]:
    """POST a Deep Chat turn in stream mode; the response and the events it carried."""
    with httpx.stream(
        "POST", gateway.url + "/chat", json=body, headers=STREAM_HEADERS, timeout=10
    ) as response:
        lines = list(response.iter_lines())
    return response, list(events(lines))
