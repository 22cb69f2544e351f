"""How an operator writes a profile's tools in the profiles file, and what a mistake says."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.process.profiles_file import load_profiles
from gateway.process.settings import Settings
from providers.config import ConfigError

GOOD = """\
[profiles.shop]
tools = ["orders.lookup_order", "stock.*"]
tool_rounds = 3
tool_timeout = 5
tool_result_bytes = 4096
tool_notes = true

[profiles.shop.mcp_servers.orders]
url = "http://127.0.0.1:9000/mcp"

[profiles.shop.mcp_servers.stock]
command = ["python", "-m", "stock_server"]
env = { STOCK_DB = "/srv/stock.db" }
"""


def load(tmp_path: Path, text: str) -> str:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_profiles(str(path), env_file=None)
    return str(caught.value).replace(str(path), "gateway.toml")


def test_a_profile_names_its_mcp_servers_and_the_tools_its_model_may_call(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(GOOD, encoding="utf-8")
    shop = load_profiles(str(path), env_file=None)["shop"]

    assert shop.tools == ["orders.lookup_order", "stock.*"]
    assert shop.mcp_servers["orders"].url == "http://127.0.0.1:9000/mcp"
    assert shop.mcp_servers["stock"].command == ("python", "-m", "stock_server")
    assert shop.mcp_servers["stock"].env == {"STOCK_DB": "/srv/stock.db"}
    assert (shop.tool_rounds, shop.tool_timeout, shop.tool_result_bytes, shop.tool_notes) == (
        3,
        5,
        4096,
        True,
    )


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            ('"stock.*"', '"billing.*"'),
            "gateway.toml, line 2: profiles.shop.tools: tool 'billing.*': no MCP server 'billing'",
        ),
        (
            ('"stock.*"', '"stock"'),
            "gateway.toml, line 2: profiles.shop.tools: tool 'stock': write SERVER.TOOL or SERVER.*",
        ),
        (
            ('url = "http://127.0.0.1:9000/mcp"', 'url = "http://127.0.0.1:9000/mcp"\ncommand = ["x"]'),
            "gateway.toml, line 8: profiles.shop.mcp_servers.orders: give an MCP server either `url`",
        ),
        (
            ('url = "http://127.0.0.1:9000/mcp"', 'url = "http://127.0.0.1:9000/mcp"\nheaders = {}'),
            "gateway.toml, line 10: profiles.shop.mcp_servers.orders.headers: Extra inputs are not permitted",
        ),
        (
            ('env = { STOCK_DB = "/srv/stock.db" }', "env = 3"),
            "gateway.toml, line 13: profiles.shop.mcp_servers.stock.env: Input should be a valid dictionary",
        ),
        (
            ("[profiles.shop.mcp_servers.stock]", "[profiles.shop.mcp_servers.Stock_1]"),
            "gateway.toml, line 1: profiles.shop.mcp_servers: MCP server name 'Stock_1'",
        ),
        (
            ("tool_rounds = 3", "tool_rounds = 0"),
            "line 3: profiles.shop.tool_rounds: Input should be greater",
        ),
    ],
)
def test_a_mistake_names_its_line_and_setting(tmp_path: Path, change: tuple[str, str], says: str) -> None:
    assert says in load(tmp_path, GOOD.replace(*change))


def test_the_default_profile_takes_its_tools_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_MCP_SERVERS", '{"orders": {"url": "http://127.0.0.1:9000/mcp"}}')
    monkeypatch.setenv("GATEWAY_TOOLS", "orders.lookup_order, orders.check_stock")
    monkeypatch.setenv("GATEWAY_TOOL_NOTES", "true")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.mcp_servers["orders"].url == "http://127.0.0.1:9000/mcp"
    assert settings.tools == ["orders.lookup_order", "orders.check_stock"]
    assert settings.tool_notes
