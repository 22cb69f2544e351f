"""What the fuzz suites share: hostile inputs, the check every answer must pass, and one case count.

The hostile requests run in process (tests/inprocess/test_fuzz.py); the one that needs uvicorn's own
HTTP parser runs against a real process (tests/security/test_fuzz.py). Both count into `CASES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import pytest
from hypothesis import strategies as st

from tests.conftest import SUMMARY

ENDPOINTS = ["/chat", "/chat-stream"]
CASES = {"count": 0}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
messages = st.lists(
    st.dictionaries(
        st.sampled_from(["role", "text", "html", "files", "custom", "overwrite"]),
        json_values | st.lists(st.dictionaries(st.sampled_from(["src", "name", "type"]), json_values)),
        max_size=4,
    ),
    max_size=4,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"messages": messages},
        optional={
            "model": json_values,
            "temperature": json_values,
            "max_tokens": json_values,
            "system": json_values,
        },
    ),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "accept": st.sampled_from(["text/event-stream", "*/*", "application/json", "text/event-stream;q=0"]),
        "origin": st.sampled_from(["null", "https://evil.example", "http://127.0.0.1", "%%%", "x" * 300]),
        "authorization": st.sampled_from(["Bearer", "Bearer x y", "Basic abc", "Bearer a.b.c", "x" * 500]),
        "x-forwarded-for": st.sampled_from(["1.2.3.4", "not-an-ip", "1.1.1.1, 2.2.2.2", ""]),
    },
)


class Response(Protocol):
    """A response as httpx spells it: Starlette's `TestClient` answers with httpx2's, of the same shape."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


def check(response: Response) -> None:
    CASES["count"] += 1
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/json"
        assert list(response.json()) == ["error"] and isinstance(response.json()["error"], str)


def summarise(config: pytest.Config) -> None:
    config.stash[SUMMARY] = f"fuzz: {CASES['count']} hostile requests sent; none was answered with a 5xx"
