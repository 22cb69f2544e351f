"""The gateway's own settings: `GATEWAY_*` variables, also read from a `.env` file.

Provider keys are not here: each adapter reads its SDK's own variables (`OPENAI_API_KEY`, ...), or the
variables a profile names in `api_key_env` / `base_url_env`. A profile of the `GATEWAY_CONFIG` file sets
any of these settings but the process-wide ones (`PROCESS_WIDE`), over the environment's values.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gateway.process import redis_url
from gateway.tools import config as tools_config
from gateway.tools.config import McpServer
from providers import REGISTRY

ENV_PREFIX = "GATEWAY_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True, env_ignore_empty=True
    )

    config: str | None = Field(None, description="a TOML file of profiles (several widgets, one gateway)")
    provider: str = Field("echo", description="which provider adapter answers")
    model: str | None = Field(None, description="model name sent to the provider")
    api_key_env: str | None = Field(None, description="variable holding the provider key (default: its own)")
    base_url_env: str | None = Field(None, description="variable holding the provider's base URL")
    system_prompt: str | None = Field(None, description="system prompt put before every conversation")
    max_tokens: int | None = Field(None, ge=1, description="reply length limit sent to the provider")
    temperature: float | None = Field(None, ge=0, le=2, description="sampling temperature, if supported")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="origins allowed to call from a browser, comma-separated"
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=256)
    keepalive_seconds: float = Field(
        15.0, gt=0, le=300, description="provider silence before a `: ping` comment is sent"
    )
    connect_timeout: float = Field(10.0, gt=0, description="seconds to connect to the provider")
    read_timeout: float = Field(120.0, gt=0, description="seconds the provider may stay silent")
    log_level: str = "info"
    max_files: int = Field(5, ge=0, le=100, description="attachments in one turn")
    max_history_files: int = Field(
        10, ge=0, le=1000, description="attachments one request sends; older ones beyond it become notes"
    )
    max_file_bytes: int = Field(5 * 1024 * 1024, ge=1, description="bytes of one image or recording")
    max_text_file_bytes: int = Field(256 * 1024, ge=1, description="bytes of one inlined text file")
    transcription_model: str | None = Field(
        None,
        description="speech-to-text model for recordings (Azure: its deployment); default: the provider's",
    )
    ws_end_phrase: str = Field("<END>", min_length=1, description="websocket frame text that ends a reply")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="proxy addresses or networks whose X-Forwarded-For is believed; '*' trusts all",
    )
    drain_seconds: int = Field(30, ge=0, description="on SIGTERM, how long in-flight replies may finish")
    max_streams: int = Field(
        1000, ge=1, description="replies one process streams at once; more are refused with 503"
    )
    # Safety on a public website.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list, description="bearer tokens")
    jwt_secret: SecretStr | None = Field(None, description="HMAC secret of the JWTs a site's backend mints")
    requests_per_minute: int = Field(20, ge=0, description="per visitor; 0 turns the limit off")
    tokens_per_day: int = Field(200_000, ge=0, description="provider tokens per visitor a day; 0: off")
    redis_url: str | None = Field(
        None,
        validation_alias="REDIS_URL",
        description="one Redis, a Sentinel set or a Cluster, shared by replicas",
    )
    redis_failure: Literal["open", "closed"] = Field("open", description="when Redis is down: allow or 503")
    require_origin: bool = Field(False, description="refuse calls without an allowed Origin (a speed bump)")
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    header_timeout: float = Field(10.0, gt=0, description="seconds a client may take to send a request head")
    body_timeout: float = Field(30.0, gt=0, description="seconds a request body may pause while it arrives")
    body_min_rate: int = Field(
        1024, ge=0, description="bytes a second a body must average once body_timeout has passed; 0: off"
    )
    body_deadline: float = Field(300.0, gt=0, description="seconds a whole request body may take to arrive")
    max_messages: int = Field(200, ge=1)
    max_message_chars: int = Field(32_000, ge=1)
    max_total_chars: int = Field(200_000, ge=1)
    allowed_models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_client_temperature: float | None = Field(None, ge=0, le=2)
    allow_client_system: bool = Field(False, description="use a caller's system text (client_system=allow)")
    client_system: Literal["allow", "ignore", "refuse"] | None = Field(
        None, description="a caller's system text: allow, ignore (named in x-gateway-ignored) or refuse"
    )
    log_content: bool = Field(False, description="log users' messages (off: logs carry no content)")
    # Resilience: one retry policy, in one place (the SDKs' own retries are off).
    fallback_providers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="providers to try next, `name` or `name:model`, comma-separated"
    )
    retries: int = Field(2, ge=0, le=10, description="extra attempts on a provider before the first delta")
    retry_backoff: float = Field(0.5, ge=0, le=30, description="seconds before the first retry; doubles")
    retry_max_wait: float = Field(10.0, ge=0, description="longest retry-after worth waiting for")
    first_delta_timeout: float = Field(60.0, gt=0, description="seconds from the call to the first event")
    idle_timeout: float = Field(60.0, gt=0, description="seconds of silence allowed between events")
    breaker_failures: int = Field(5, ge=1, description="failures in a row that pause calls to a provider")
    breaker_reset_seconds: float = Field(30.0, gt=0, description="pause before a provider is probed again")
    # Server-side conversations: off by default, since they store what visitors write.
    conversations: bool = Field(False, description="remember conversations on the server")
    conversation_ttl: int = Field(7 * 24 * 3600, ge=60, description="seconds a conversation is kept")
    conversation_budget_chars: int = Field(
        100_000, ge=1000, description="characters of stored conversation sent to the provider, newest first"
    )
    max_conversations: int = Field(10_000, ge=1, description="conversations kept in process (no Redis)")
    # 64 MiB: a small replica (512 MiB container) keeps conversations beside a ~100 MB process with room to
    # spare: ~300 conversations at the 200,000-character limit, or all 10,000 of a dozen short turns.
    conversation_memory_bytes: int = Field(
        64 * 1024 * 1024, ge=1024 * 1024, description="bytes of conversations kept in process (no Redis)"
    )
    history_page_size: int = Field(20, ge=1, le=1000, description="messages per loadHistory page")
    # Server-side tools from MCP servers (gateway/tools/): only the operator names them, never a request.
    mcp_servers: dict[str, McpServer] = Field(
        default_factory=dict, description="MCP servers by name, as JSON: {NAME: {url | command, env}}"
    )
    tools: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="tools the model may call: SERVER.TOOL or SERVER.*, comma-separated"
    )
    tool_rounds: int = Field(4, ge=1, le=20, description="model -> tools -> model rounds in one reply")
    tool_timeout: float = Field(10.0, gt=0, le=600, description="seconds one tool call may take")
    tool_result_bytes: int = Field(16_384, ge=256, description="bytes of a tool's result the model reads")
    tool_notes: bool = Field(False, description="show the visitor a short note naming each tool used")

    @model_validator(mode="after")
    def _state_shared_by_workers(self) -> Settings:
        problem = unshared_state(self)
        if problem is None:
            return self
        # Raised with the location `workers`, so that the one line at start-up names GATEWAY_WORKERS.
        error = PydanticCustomError("unshared_state", "{problem}", {"problem": problem})
        details = InitErrorDetails(type=error, loc=("workers",), input=self.workers)
        raise ValidationError.from_exception_data(type(self).__name__, [details])

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        return redis_url.check(value) if value else value

    @field_validator("api_key_env", "base_url_env")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in REGISTRY:
            raise ValueError(f"unknown provider {value!r}; choose one of: {', '.join(sorted(REGISTRY))}")
        return name

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("fallback_providers")
    @classmethod
    def _known_fallbacks(cls, value: list[str]) -> list[str]:
        for entry in value:
            name = entry.split(":", 1)[0].strip().lower()
            if name not in REGISTRY:
                raise ValueError(f"unknown provider {name!r}; choose from: {', '.join(sorted(REGISTRY))}")
        return value

    @field_validator("mcp_servers")
    @classmethod
    def _server_names(cls, value: dict[str, McpServer]) -> dict[str, McpServer]:
        tools_config.check_servers(value)
        return value

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, value: list[str], info: ValidationInfo) -> list[str]:
        tools_config.check_tools(value, info.data.get("mcp_servers", {}))
        return value

    @field_validator("api_keys", "allowed_models", "fallback_providers", "tools", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in {"critical", "error", "warning", "info", "debug"}:
            raise ValueError("must be one of critical, error, warning, info, debug")
        return level


def unshared_state(settings: Settings) -> str | None:
    """Why these settings cannot run in several workers, or None.

    Without Redis each uvicorn worker process counts its own requests and tokens and keeps its own
    conversations: a visitor would get as many times the limit as there are workers, and a conversation
    split between them. Worker processes share nothing else, so Redis is what shares them.
    """
    if settings.workers == 1 or settings.redis_url:
        return None
    kept = {
        "requests per minute": ("GATEWAY_REQUESTS_PER_MINUTE=0", settings.requests_per_minute > 0),
        "tokens per day": ("GATEWAY_TOKENS_PER_DAY=0", settings.tokens_per_day > 0),
        "conversations": ("GATEWAY_CONVERSATIONS=false", settings.conversations),
    }
    on = {what: off for what, (off, enabled) in kept.items() if enabled}
    if not on:
        return None
    harm = []
    if settings.requests_per_minute > 0 or settings.tokens_per_day > 0:
        harm.append(f"up to {settings.workers} times the limits")
    if settings.conversations:
        harm.append("a conversation split between workers")
    return (
        f"{settings.workers} workers without REDIS_URL would each keep their own {' and '.join(on)}, "
        f"so one visitor would get {' and '.join(harm)}; set REDIS_URL to share them, "
        f"or GATEWAY_WORKERS=1, or turn them off ({', '.join(on.values())})"
    )


# Settings of the process as a whole: the environment sets them, a profile cannot.
PROCESS_WIDE = frozenset(
    {
        "config",
        "host",
        "port",
        "workers",
        "log_level",
        "trusted_proxies",
        "drain_seconds",
        "max_streams",
        "max_body_bytes",
        "header_timeout",
        "body_timeout",
        "body_min_rate",
        "body_deadline",
        "redis_url",
        "redis_failure",
        "api_keys",
        "jwt_secret",
        "require_origin",
        "log_content",
        "max_conversations",
        "conversation_memory_bytes",
    }
)
