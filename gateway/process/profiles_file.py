"""The `GATEWAY_CONFIG` file: named profiles, each the settings of one widget.

```toml
[profiles.support]
provider = "anthropic"
system_prompt = "You answer questions about our products."
cors_origins = ["https://www.example.com"]
requests_per_minute = 10

[profiles.sales]
provider = "openai"
model = "gpt-4o-mini"
api_key_env = "SALES_OPENAI_KEY"   # keys never live in this file: name the variable that holds it
```

A profile's table holds what the `GATEWAY_*` variables hold, without the prefix, in lower case; what it
leaves out comes from the environment. Its MCP servers are tables of their own,
`[profiles.NAME.mcp_servers.SERVER]` (gateway/tools/config.py). `[profiles.default]`, when present,
configures the unprefixed routes. Every problem is reported as one line naming the file, the line and
the setting.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.process.settings import PROCESS_WIDE, Settings
from providers.config import ConfigError

PROFILE_NAME = re.compile(r"[a-z0-9-]{1,32}")


def load_profiles(path: str, env_file: str | None = ".env") -> dict[str, Settings]:
    """Each profile's settings, by name; raises `ConfigError` naming the place of the first problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("GATEWAY_CONFIG", f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError("GATEWAY_CONFIG", f"{path}, line {line}: not UTF-8 text") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("GATEWAY_CONFIG", f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays and inline tables recursively
        raise ConfigError("GATEWAY_CONFIG", f"{path}: arrays or tables nested too deeply") from None
    unknown = sorted(set(document) - {"profiles"})
    if unknown:
        raise _problem(path, text, None, unknown[0], "unknown table; profiles go in [profiles.NAME]")
    tables = document.get("profiles", {})
    if not isinstance(tables, dict) or not tables:
        raise ConfigError("GATEWAY_CONFIG", f"{path}: no [profiles.NAME] table")
    return {name: _settings(path, text, name, table, env_file) for name, table in tables.items()}


def _settings(path: str, text: str, name: str, table: Any, env_file: str | None) -> Settings:
    if not PROFILE_NAME.fullmatch(name):
        raise _problem(path, text, name, None, "a profile name is 1-32 lower-case letters, digits or '-'")
    if not isinstance(table, dict):
        raise _problem(path, text, name, None, "must be a table")
    for key in table:
        if key in PROCESS_WIDE:
            raise _problem(path, text, name, key, "belongs to the whole process: set GATEWAY_* instead")
        if key not in Settings.model_fields:
            raise _problem(path, text, name, key, "unknown setting")
    try:
        return Settings(_env_file=env_file, **table)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        # A nested table's place in full (`mcp_servers.orders.url`), so its own line is found.
        key = ".".join(str(part) for part in error["loc"]) or None
        message = str(error["msg"]).removeprefix("Value error, ")
        raise _problem(path, text, name, key, message) from None


def _problem(path: str, text: str, profile: str | None, key: str | None, message: str) -> ConfigError:
    where = ".".join(part for part in ("profiles" if profile else None, profile, key) if part)
    line = _line_of(text, profile, key)
    place = f"{path}, line {line}" if line else path
    return ConfigError("GATEWAY_CONFIG", f"{place}: {where}: {message}" if where else f"{place}: {message}")


def _line_of(text: str, profile: str | None, key: str | None) -> int | None:
    """The line of `[profiles.PROFILE]` (and of `key` in it), found by reading the file as text; a dotted
    `key` (`mcp_servers.orders.url`) is looked for in its own table, `[profiles.PROFILE.mcp_servers.orders]`.
    """
    if profile is not None and key is not None and "." in key:
        table, _, leaf = key.rpartition(".")
        return (
            _line_of(text, f"{profile}.{table}", leaf)
            or _line_of(text, f"{profile}.{key}", None)
            or _line_of(text, profile, key.split(".", 1)[0])
        )
    lines = text.splitlines()
    dotted = r"\s*\.\s*".join(r"\"?" + re.escape(part) + r"\"?" for part in (profile or "").split("."))
    header = re.compile(r"\s*\[\s*profiles\s*\.\s*" + dotted + r"\s*\]")
    found = None
    for number, line in enumerate(lines, 1):
        if profile is None and key is not None and re.match(r"\s*\[\s*" + re.escape(key), line):
            return number
        if found is None and profile is not None and header.match(line):
            found = number
            if key is None:
                return number
        elif found is not None:
            if line.lstrip().startswith("["):
                break
            if re.match(r"\s*\"?" + re.escape(key or "") + r"\"?\s*=", line):
                return number
    return found
