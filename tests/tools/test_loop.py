"""The tool loop around a scripted model, calling a real MCP server (the shop, over streamable HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

from domain.events import Event, Finish, TextDelta, Usage
from domain.messages import Message, TextPart, ToolCallPart, ToolResultPart
from domain.provider import Provider
from domain.request import ChatRequest
from gateway.process.settings import Settings
from gateway.telemetry.metrics import Metrics
from gateway.tools.loop import GAVE_UP, with_tools
from tests.aio import run
from tests.gateway_process import free_port
from tests.tools.mcp_process import McpProcess
from tests.tools.scripted import ScriptedProvider, answer, calls

STATUS = {"A-1001": "shipped on 3 December, arriving 9 December", "A-1002": "waiting for payment"}
QUESTION = ChatRequest((Message("user", (TextPart("Where is my order A-1001?"),)),))


def loop_for(url: str, model: ScriptedProvider, metrics: Metrics | None = None, **settings: Any) -> Provider:
    configured = Settings(
        _env_file=None,  # type: ignore[call-arg]
        mcp_servers={"shop": {"url": url}},
        tools=settings.pop("tools", ["shop.lookup_order", "shop.check_stock", "shop.slow_report"]),
        **settings,
    )
    return with_tools(model, "shop", configured, metrics or Metrics())


def reply(loop: Provider, request: ChatRequest = QUESTION) -> list[Event]:
    async def collect() -> list[Event]:
        try:
            return [event async for event in loop.stream(request)]
        finally:
            await loop.aclose()

    return run(collect())


def text_of(events: list[Event]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def results_of(request: ChatRequest) -> tuple[ToolResultPart, ...]:
    last = request.messages[-1]
    assert last.role == "tool"
    return tuple(part for part in last.parts if isinstance(part, ToolResultPart))


def test_the_model_asks_the_gateway_calls_the_tool_and_the_answer_streams(shop: McpProcess) -> None:
    model = ScriptedProvider(
        calls(("call_1", "shop__lookup_order", '{"order_id": "A-1001"}'), usage=Usage(40, 12)),
        answer("It arrives ", "on 9 December.", usage=Usage(90, 7)),
    )
    events = reply(loop_for(shop.url, model))

    assert text_of(events) == "It arrives on 9 December."
    assert [e for e in events if isinstance(e, Usage)] == [Usage(40, 12), Usage(130, 19)]
    assert events[-1] == Finish("stop")
    offered = {tool.name: tool for tool in model.requests[0].tools}
    assert set(offered) == {"shop__lookup_order", "shop__check_stock", "shop__slow_report"}  # not refund
    assert offered["shop__lookup_order"].description == "Where an order is, by its number (like A-1001)."
    assert offered["shop__lookup_order"].parameters is not None
    assert offered["shop__lookup_order"].parameters["required"] == ["order_id"]
    again = model.requests[1]
    assert again.messages[:1] == QUESTION.messages
    assert again.messages[1] == Message(
        "assistant", (ToolCallPart("call_1", "shop__lookup_order", '{"order_id": "A-1001"}'),)
    )
    (result,) = results_of(again)
    assert result.call_id == "call_1" and not result.is_error
    assert "shipped on 3 December" in result.content


def test_several_calls_in_one_turn_run_at_the_same_time(shop: McpProcess) -> None:
    # `meet` answers only while another call of its group is in the server at once: in turn, both fail.
    model = ScriptedProvider(
        calls(("a", "shop__meet", '{"group": "parallel"}'), ("b", "shop__meet", '{"group": "parallel"}')),
        answer("Both met."),
    )
    events = reply(loop_for(shop.url, model, tools=["shop.*"], tool_timeout=30))

    assert text_of(events) == "Both met."
    assert [(r.call_id, r.content, r.is_error) for r in results_of(model.requests[1])] == [
        ("a", "met", False),
        ("b", "met", False),
    ]


def test_a_failing_slow_unknown_or_garbled_call_is_an_error_result_and_the_reply_goes_on(
    shop: McpProcess,
) -> None:
    metrics = Metrics()
    model = ScriptedProvider(
        calls(
            ("1", "shop__lookup_order", '{"order_id": "Z-9"}'),
            ("2", "shop__slow_report", '{"seconds": 30}'),
            ("3", "shop__refund_order", '{"order_id": "A-1001"}'),  # on the server, not allowed
            ("4", "shop__check_stock", '{"sku": '),
            ("5", "shop__check_stock", '{"sku": "blue-mug"}'),
        ),
        answer("Sorry, some of that failed."),
    )
    events = reply(loop_for(shop.url, model, metrics, tool_timeout=1))

    assert text_of(events) == "Sorry, some of that failed." and events[-1] == Finish("stop")
    results = {r.call_id: r for r in results_of(model.requests[1])}
    assert results["1"].is_error and "There is no order Z-9." in results["1"].content
    assert results["2"].is_error and "did not answer within 1 seconds" in results["2"].content
    assert results["3"].is_error and "no tool named 'shop__refund_order'" in results["3"].content
    assert results["4"].is_error and "not valid JSON" in results["4"].content
    assert not results["5"].is_error and results["5"].content == "12 x blue-mug in stock"

    def counted(tool: str, outcome: str) -> float | None:
        labels = {"profile": "shop", "tool": tool, "outcome": outcome}
        return metrics.registry.get_sample_value("gateway_tool_calls_total", labels)

    assert counted("shop.lookup_order", "error") == 1
    assert counted("shop.slow_report", "timeout") == 1
    assert counted("unknown", "unknown_tool") == 1
    assert counted("shop.check_stock", "bad_arguments") == 1
    assert counted("shop.check_stock", "ok") == 1
    durations = {"profile": "shop", "tool": "shop.check_stock"}
    assert metrics.registry.get_sample_value("gateway_tool_call_duration_seconds_count", durations) == 2


def test_a_long_result_is_cut_to_the_byte_bound_and_the_model_is_told(shop: McpProcess) -> None:
    model = ScriptedProvider(calls(("c", "shop__catalogue", '{"count": 500}')), answer("Many things."))
    reply(loop_for(shop.url, model, tools=["shop.catalogue"], tool_result_bytes=1000))

    (result,) = results_of(model.requests[1])
    kept, note = result.content.rsplit("\n", 1)
    assert len(kept.encode()) <= 1000 and kept.startswith("item 0: a very fine product")
    assert note.startswith("[truncated: the tool returned ") and "only the first" in note


def test_after_its_last_round_the_model_answers_without_tools(shop: McpProcess) -> None:
    lookup = ("x", "shop__lookup_order", '{"order_id": "A-1002"}')
    model = ScriptedProvider(calls(lookup), calls(lookup), answer("It waits for payment."))
    events = reply(loop_for(shop.url, model, tool_rounds=2))

    assert text_of(events) == "It waits for payment."
    assert [request.tool_choice for request in model.requests] == [None, None, "none"]


def test_a_model_that_keeps_calling_after_the_last_round_ends_with_a_clear_sentence(shop: McpProcess) -> None:
    lookup = ("x", "shop__lookup_order", '{"order_id": "A-1002"}')
    # A provider that cannot be told "no tools now" (no tool_choice) and calls again anyway.
    model = ScriptedProvider(calls(lookup), calls(lookup), supports=frozenset({"tools"}))
    events = reply(loop_for(shop.url, model, tool_rounds=1))

    assert text_of(events) == GAVE_UP and events[-1] == Finish("stop")
    assert len(model.requests) == 2 and model.requests[1].tool_choice is None


def test_notes_tell_the_visitor_which_tools_ran_in_their_own_paragraph(shop: McpProcess) -> None:
    model = ScriptedProvider(
        [TextDelta("Let me look."), *calls(("1", "shop__lookup_order", '{"order_id": "A-1001"}'))],
        calls(("2", "shop__check_stock", '{"sku": "red-mug"}'), ("3", "shop__check_stock", '{"sku": "x"}')),
        answer("Shipped; the red mug is sold out."),
    )
    events = reply(loop_for(shop.url, model, tool_notes=True))

    assert text_of(events) == (
        "Let me look.\n\n_(used `lookup_order`)_\n\n"
        "_(used `check_stock`)_\n\nShipped; the red mug is sold out."
    )
    # The model's own words before its call go back with the call; the notes are the gateway's.
    assert model.requests[1].messages[1].parts[0] == TextPart("Let me look.")
    assert all("used" not in m.text for r in model.requests for m in r.messages)


def test_clients_cannot_bring_tools_to_a_profile_whose_tools_the_gateway_runs(shop: McpProcess) -> None:
    loop = loop_for(shop.url, ScriptedProvider())
    assert {"tools", "tool_choice", "parallel_tool_calls"}.isdisjoint(loop.supports)
    assert "top_p" in loop.supports
    run(loop.aclose())


def test_a_server_that_is_down_costs_its_tools_not_the_reply() -> None:
    nobody = f"http://127.0.0.1:{free_port()}/mcp"
    model = ScriptedProvider(answer("I cannot look that up now."), answer("Still cannot."))
    loop = loop_for(nobody, model)

    async def two_replies() -> list[str]:
        try:
            return [text_of([e async for e in loop.stream(QUESTION)]) for _ in range(2)]
        finally:
            await loop.aclose()

    assert run(two_replies()) == ["I cannot look that up now.", "Still cannot."]
    assert [request.tools for request in model.requests] == [(), ()]


class OrderDesk(ScriptedProvider):
    """A model for many replies at once: it looks up the order the visitor names, then repeats the result."""

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        self.requests.append(request)
        last = request.messages[-1]
        if last.role == "user":
            order = last.text.rsplit(" ", 1)[-1]
            script = calls(("c", "shop__lookup_order", json.dumps({"order_id": order})))
        else:
            script = answer(results_of(request)[0].content)
        for event in script:
            yield event


def test_many_replies_share_one_session_at_once(shop: McpProcess) -> None:
    orders = ["A-1001", "A-1002"] * 4
    loop = loop_for(shop.url, OrderDesk())

    async def at_once() -> list[str]:
        def asking(order: str) -> ChatRequest:
            return ChatRequest((Message("user", (TextPart(f"Where is {order}"),)),))

        try:
            replies = await asyncio.gather(*(collect(loop, asking(order)) for order in orders))
        finally:
            await loop.aclose()
        return [text_of(events) for events in replies]

    assert run(at_once()) == [f"Order {order}: {STATUS[order]}" for order in orders]


async def collect(loop: Provider, request: ChatRequest) -> list[Event]:
    return [event async for event in loop.stream(request)]


def test_a_turn_cut_short_mid_call_ends_the_reply_without_running_the_call(shop: McpProcess) -> None:
    half_a_call = [*calls(("c", "shop__lookup_order", '{"order_id": "A-10'))[:-1], Finish("length")]
    model = ScriptedProvider([TextDelta("Looking"), *half_a_call])
    events = reply(loop_for(shop.url, model))

    assert text_of(events) == "Looking" and events[-1] == Finish("length")
    assert len(model.requests) == 1
