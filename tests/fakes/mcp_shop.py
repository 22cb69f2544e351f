"""A small shop's MCP server, built with the `mcp` SDK's own server, for the tool tests.

`python -m tests.fakes.mcp_shop http PORT` serves streamable HTTP at http://127.0.0.1:PORT/mcp;
`python -m tests.fakes.mcp_shop stdio` speaks over stdin/stdout.
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

ORDERS = {"A-1001": "shipped on 3 December, arriving 9 December", "A-1002": "waiting for payment"}
STOCK = {"blue-mug": 12, "red-mug": 0}

shop = MCPServer("shop")


@shop.tool(description="Where an order is, by its number (like A-1001).")
def lookup_order(order_id: str) -> str:
    if order_id not in ORDERS:
        raise ToolError(f"There is no order {order_id}.")
    return f"Order {order_id}: {ORDERS[order_id]}"


@shop.tool(description="How many of a product are in stock, by its SKU.")
def check_stock(sku: str) -> str:
    return f"{STOCK.get(sku, 0)} x {sku} in stock"


@shop.tool(description="Takes its time: waits `seconds`, then answers.")
async def slow_report(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "report ready"


_arrived: dict[str, int] = {}
_met: dict[str, asyncio.Event] = {}


@shop.tool(description="Answers once two callers of one group are in it at once (calls ran in parallel).")
async def meet(group: str) -> str:
    _arrived[group] = _arrived.get(group, 0) + 1
    met = _met.setdefault(group, asyncio.Event())
    if _arrived[group] >= 2:
        met.set()
    try:
        async with asyncio.timeout(10):
            await met.wait()
    except TimeoutError:
        raise ToolError("nobody else came") from None
    return "met"


@shop.tool(description="A long catalogue: `count` lines of text.")
def catalogue(count: int) -> str:
    return "\n".join(f"item {number}: a very fine product" for number in range(count))


@shop.tool(description="Which process answered (tests see a restarted server).")
def server_pid() -> str:
    return str(os.getpid())


@shop.tool(description="Only for the operator: never offered to a widget in the tests.")
def refund_order(order_id: str) -> str:
    return f"refunded {order_id}"


if __name__ == "__main__":
    if sys.argv[1] == "http":
        shop.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        shop.run(transport="stdio")
