"""The one small interface every provider adapter implements.

A request is a provider-neutral conversation; a reply is an async stream of a closed set of events.
Adapters raise `UpstreamError` (see `providers.errors`) for every failure, so the gateway never needs to
know which vendor it is talking to.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from dotenv import dotenv_values
from pydantic import ValidationError
from pydantic_settings import BaseSettings

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    media_type: str  # e.g. "image/png"
    data: str  # base64, without the data: URL prefix
    name: str | None = None

    @property
    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.data}"


@dataclass(frozen=True, slots=True)
class FilePart:
    """A small text file the user attached, inlined: providers see its name and contents."""

    name: str
    media_type: str
    text: str

    @property
    def rendered(self) -> str:
        return f"<attached file name={self.name!r} type={self.media_type!r}>\n{self.text}\n</attached file>"


Part = TextPart | ImagePart | FilePart


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "\n".join(part.text for part in self.parts if isinstance(part, TextPart))


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: tuple[Message, ...]
    system: str | None = None
    model: str | None = None  # None: the adapter's configured model
    max_tokens: int | None = None  # None: the adapter's own default
    temperature: float | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int | None
    output_tokens: int | None


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str  # the provider's own word: "stop", "end_turn", "length", ...


Event = TextDelta | Usage | Finish


class Provider(Protocol):
    """A configured provider: one long-lived client, shared by every request of the process."""

    name: str
    model: str
    accepts_images: bool

    def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        """Yield events until the reply ends; raise `UpstreamError` on any failure.

        Closing the generator early (the client went away) must close the upstream connection.
        """
        ...

    async def aclose(self) -> None: ...


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
        variable = (str(cls.model_config.get("env_prefix", "")) + field).upper()
        got = error.get("input")
        secret = any(word in field for word in ("key", "secret", "token", "password"))
        shown = f" (got {got!r})" if isinstance(got, str) and not secret and len(got) < 80 else ""
        raise ConfigError(variable, str(error["msg"]).removeprefix("Value error, ") + shown) from None
