"""Read an SSE body the way Deep Chat's parser (fetch-event-source) does."""

from __future__ import annotations

import json
import threading
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


class StreamsInFlight:
    """Deep Chat streams of one text, each read in a thread of its own; for stopping a server under them.

    `start()` returns once every stream has its first delta. `texts` then holds each reply's text as it
    ends, an error frame spelt `<error: ...>`, so a cut stream never equals the text sent.
    """

    def __init__(self, url: str, text: str, count: int, timeout: float) -> None:
        self.texts: list[str] = []
        self._url, self._text, self._timeout = url, text, timeout
        self._first_deltas = threading.Semaphore(0)
        self._threads = [threading.Thread(target=self._one) for _ in range(count)]

    def start(self) -> StreamsInFlight:
        for thread in self._threads:
            thread.start()
        for _ in self._threads:
            assert self._first_deltas.acquire(timeout=self._timeout), "a stream never started"
        return self

    def join(self) -> list[str]:
        for thread in self._threads:
            thread.join(timeout=self._timeout * 2)
        return self.texts

    def _one(self) -> None:
        text: list[str] = []
        with httpx.stream(
            "POST",
            self._url + "/chat",
            json=chat_body(self._text),
            headers=STREAM_HEADERS,
            timeout=self._timeout,
        ) as response:
            for event in events(response.iter_lines()):
                if not text:
                    self._first_deltas.release()
                text.append(event.get("text", f"<error: {event.get('error')}>"))
        self.texts.append("".join(text))
