"""How adapters are configured: the gateway's options, and keys and base URLs read from the environment.

The neutral request and events adapters speak live in `domain/`; their interface in `domain/provider.py`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values
from pydantic import ValidationError
from pydantic_settings import BaseSettings


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """What the gateway's own settings tell every adapter; adapters read their keys themselves."""

    model: str | None  # GATEWAY_MODEL; None: the adapter's default
    env_file: str | None  # the .env file the gateway read, so adapters read the same one
    connect_timeout: float = 10.0  # seconds to open a connection to the provider
    read_timeout: float = 120.0  # seconds the provider may stay silent, before or between deltas
    api_key_env: str | None = None  # the variable holding the key; None: the provider's own
    base_url_env: str | None = None  # the variable holding the base URL; None: the provider's own
    max_connections: int | None = None  # the client's connection pool; None: no cap of its own


@dataclass(frozen=True, slots=True)
class Account:
    """Where a provider is reached and with what key; `key_variable` names where the key was looked for."""

    api_key: str | None
    base_url: str | None
    key_variable: str


def read_account(
    options: ProviderOptions, key_variables: tuple[str, ...], base_url_variable: str | None
) -> Account:
    """The key and base URL from the variables a profile names, else from the provider's own
    (`key_variables`: the first one set wins), in the environment or the `.env` file."""
    key_variables = (options.api_key_env,) if options.api_key_env else key_variables
    base_url_variable = options.base_url_env or base_url_variable
    values = _environment(options.env_file)
    key = next((values[name] for name in key_variables if values.get(name)), None)
    base_url = values.get(base_url_variable) if base_url_variable else None
    return Account(key, base_url or None, key_variables[0] if key_variables else "")


def _environment(env_file: str | None) -> dict[str, str | None]:
    from_file = dotenv_values(env_file) if env_file and Path(env_file).is_file() else {}
    return {**from_file, **os.environ}


class ConfigError(Exception):
    """The environment does not configure the chosen provider; `variable` names what to fix."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(cls: type[SettingsT], env_file: str | None) -> SettingsT:
    """Read settings from the environment and `env_file`; a bad value raises `ConfigError` naming it."""
    try:
        return cls(_env_file=env_file)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        # A field read from a variable of its own (`validation_alias`, as REDIS_URL) is named by it.
        aliased = field not in cls.model_fields
        variable = (field if aliased else str(cls.model_config.get("env_prefix", "")) + field).upper()
        got = error.get("input")
        # URLs are not quoted either: one may hold a password (redis://:password@host).
        secret = any(word in field.lower() for word in ("key", "secret", "token", "password", "url"))
        shown = f" (got {got!r})" if isinstance(got, str) and not secret and len(got) < 80 else ""
        raise ConfigError(variable, str(error["msg"]).removeprefix("Value error, ") + shown) from None
