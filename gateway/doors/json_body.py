"""A JSON request body, parsed into a dialect's model after a cheap bound on its size in items.

Parsing builds an object per item: a 32 MB body of a million tiny messages costs seconds of CPU and a GiB
of memory before any limit on messages could refuse it. Counting separators and brackets runs at memory
speed and bounds the items the parser will build.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gateway.errors import GatewayError, bad_request, describe_validation

Body = TypeVar("Body", bound=BaseModel)


def parse(raw: bytes, model: type[Body], max_items: int) -> Body:
    """`raw` as `model`: 400 for an empty body or malformed JSON, 413 over the items bound, 422 for the
    wrong shape (a dialect may spell that 400)."""
    if not raw.strip():
        raise empty_body()
    check_items(raw, max_items)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors: list[Any] = exc.errors(include_url=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise bad_request(400, f"The request body is not valid JSON: {errors[0]['msg']}.") from None
        raise bad_request(422, describe_validation(errors)) from None


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
