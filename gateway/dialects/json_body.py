"""A cheap bound on a JSON body's size in items, checked before it is parsed.

Parsing builds an object per item: a 32 MB body of a million tiny messages costs seconds of CPU and a GiB
of memory before any limit on messages could refuse it. Counting separators and brackets runs at memory
speed and bounds the items the parser will build.
"""

from __future__ import annotations

from gateway.errors import GatewayError, bad_request


def check_items(raw: bytes, max_items: int) -> None:
    items = raw.count(b",") + raw.count(b"{") + raw.count(b"[")
    if items > max_items:
        raise too_many_items(max_items)


def too_many_items(max_items: int) -> GatewayError:
    return bad_request(
        413, f"The request holds more JSON items than this gateway's limits allow (at most {max_items})."
    )


def empty_body() -> GatewayError:
    return bad_request(
        400, 'The request body is empty; send JSON like {"messages": [{"role": "user", "text": "Hi"}]}.'
    )
