"""How a profile names its MCP servers and the tools its model may call (`Settings.mcp_servers`, `.tools`).

```toml
[profiles.shop]
tools = ["orders.lookup_order", "stock.*"]   # SERVER.TOOL, or SERVER.* for every tool of a server

[profiles.shop.mcp_servers.orders]
url = "http://127.0.0.1:9000/mcp"             # streamable HTTP

[profiles.shop.mcp_servers.stock]
command = ["python", "-m", "stock_server"]    # stdio: the gateway starts it
env = { STOCK_DB = "/srv/stock.db" }
```
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.provider import Provider
from providers.config import ConfigError

# No "_" in a server's name: "SERVER__TOOL", the name the model sees, must split one way only.
SERVER_NAME = re.compile(r"[a-z0-9-]{1,32}")
TOOL_PATTERN = re.compile(r"(?P<server>[a-z0-9-]{1,32})\.(?P<tool>\*|[A-Za-z0-9_.-]{1,128})")


class McpServer(BaseModel):
    """One MCP server: by URL (streamable HTTP) or by command (stdio, started by the gateway)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(None, pattern=r"^https?://", description="its streamable HTTP endpoint")
    command: tuple[str, ...] | None = Field(None, min_length=1, description="program and arguments (stdio)")
    env: dict[str, str] = Field(default_factory=dict, description="the command's variables")
    cwd: str | None = Field(None, description="the command's working directory")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.url is None) == (self.command is None):
            raise ValueError("give an MCP server either `url` (streamable HTTP) or `command` (stdio)")
        if self.url is not None and (self.env or self.cwd):
            raise ValueError("`env` and `cwd` are for a `command` server")
        return self


def check_servers(servers: Mapping[str, McpServer]) -> None:
    for name in servers:
        if not SERVER_NAME.fullmatch(name):
            raise ValueError(f"MCP server name {name!r}: 1-32 lower-case letters, digits or '-'")


def check_tools(patterns: Iterable[str], servers: Mapping[str, McpServer]) -> None:
    for pattern in patterns:
        match = TOOL_PATTERN.fullmatch(pattern)
        if match is None:
            raise ValueError(f"tool {pattern!r}: write SERVER.TOOL or SERVER.*")
        if match["server"] not in servers:
            raise ValueError(f"tool {pattern!r}: no MCP server {match['server']!r} in mcp_servers")


def allows(patterns: Iterable[str], server: str, tool: str) -> bool:
    """Whether the profile lets its model call `tool` of `server`."""
    return any(pattern in (f"{server}.{tool}", f"{server}.*") for pattern in patterns)


def check_can_call_tools(provider: Provider, tools: Iterable[str]) -> None:
    """Raise `ConfigError` when the profile names tools its provider (or a fallback) cannot call."""
    if tools and "tools" not in provider.supports:
        raise ConfigError(
            "GATEWAY_TOOLS", f"the {provider.name} provider cannot call tools; remove `tools` or switch"
        )
