"""Keep tokens and conversation ids out of the server's own log lines.

Browsers send no headers on a websocket, so its token (`?access_token=…`) and its conversation
(`?conversation=…`, the only key to a conversation when auth is off) travel in the URL, and uvicorn logs
URLs. This filter blanks their values in every uvicorn log record before it is written. A name spelled
with percent escapes (`conver%73ation`) is read the same by the gateway, so it is recognised decoded.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

SECRET_PARAMETERS = frozenset({"access_token", "conversation"})
REDACTED = "[redacted]"
_QUERY = re.compile(r"\?[^\s\"']+")


def redact(text: str) -> str:
    """`text` with the value of every secret query parameter of every URL in it blanked."""
    return _QUERY.sub(_redacted_query, text) if "?" in text else text


def _redacted_query(query: re.Match[str]) -> str:
    return "?" + "&".join(map(_redacted_parameter, query.group()[1:].split("&")))


def _redacted_parameter(parameter: str) -> str:
    name, equals, _ = parameter.partition("=")
    return f"{name}={REDACTED}" if equals and unquote_plus(name) in SECRET_PARAMETERS else parameter


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    redact_filter = RedactTokens()
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactTokens) for existing in logger.filters):
            logger.addFilter(redact_filter)
