"""Keep tokens out of the server's own log lines.

Browsers send no headers on a websocket, so its token travels in the URL (`?access_token=…`), and
uvicorn logs URLs. This filter blanks the value in every uvicorn log record before it is written.
"""

from __future__ import annotations

import logging
import re

_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']+")


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_URL.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_URL.sub(r"\1[redacted]", record.msg)
        return True


def install() -> None:
    redact = RedactTokens()
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactTokens) for existing in logger.filters):
            logger.addFilter(redact)
