"""windlass.llm against a real local OpenAI-compatible server: replies, spans, costs, errors."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openai_server import OpenAIServer, embedding_for
from windlass.client import default_client
from windlass.entities import Span, SpanKind, SpanStatus
from windlass.exceptions import (
    ConfigError,
    InvalidInput,
    InvalidState,
    ProjectNotFound,
    ProviderError,
)
from windlass.genai.llm import client as llm
from windlass.genai.llm.pricing import TokenUsage, UnknownModelPriceWarning
from windlass.genai.tracing import sdk as tracing
from windlass.genai.tracing.service import TraceService
from windlass.ids import new_id
from windlass_testing import free_port

KEY = "sk-windlass-test-0123456789"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
# USD per million tokens in the shipped prices.json
GPT_4O_MINI = {"input": 0.15, "cached_input": 0.075, "output": 0.6}
O4_MINI = {"input": 1.1, "cached_input": 0.275, "output": 4.4, "reasoning": 4.4}


@pytest.fixture(autouse=True)
def _clean_llm_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "WINDLASS_LLM_BASE_URL",
        "WINDLASS_LLM_API_KEY",
        "WINDLASS_LLM_PROVIDERS",
        "WINDLASS_LLM_MAX_RETRIES",
        "WINDLASS_LLM_TIMEOUT_SECONDS",
        "WINDLASS_TRACE_MAX_CHARS",
    ):
        monkeypatch.delenv(name, raising=False)
    yield
    tracing.set_redactor(None)
    tracing.flush_traces()


@pytest.fixture
def llm_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(
        api_key=KEY,
        cached_tokens=2,
        first_token_delay=0.05,
        model_aliases={"gpt-4o-mini": "gpt-4o-mini-2024-07-18"},
    ) as srv:
        yield srv


@pytest.fixture
def at(llm_server: OpenAIServer) -> dict[str, str]:
    """The endpoint arguments of a call to the test server."""
    return {"base_url": llm_server.base_url, "api_key": KEY}


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def stored(trace_id: str) -> list[Span]:
    assert tracing.flush_traces()
    return TraceService(default_client().tracking.store).get_trace(trace_id)


def stored_span(trace_id: str, span_id: str) -> Span:
    return next(s for s in stored(trace_id) if s.span_id == span_id)


def all_stored_spans() -> list[Span]:
    assert tracing.flush_traces()
    try:
        return list(
            TraceService(default_client().tracking.store).iter_spans(
                [default_client().current_project()]
            )
        )
    except ProjectNotFound:
        return []


def cost(prices: dict[str, float], usage: TokenUsage) -> float:
    """Price ``usage`` by hand: every token once, at its own price."""
    cached = usage.cached_input_tokens or 0
    reasoning = usage.reasoning_tokens or 0
    return (
        (usage.input_tokens - cached) * prices["input"]
        + cached * prices["cached_input"]
        + (usage.output_tokens - reasoning) * prices["output"]
        + reasoning * prices.get("reasoning", prices["output"])
    ) / 1_000_000


# -- chat ----------------------------------------------------------------------------------------
def test_chat_returns_text_usage_and_the_hand_computed_cost(
    llm_server: OpenAIServer, at: dict[str, str]
) -> None:
    reply = llm.chat(
        "gpt-4o-mini",
        user("hello there"),
        temperature=0.2,
        max_tokens=50,
        seed=7,
        stop=["END"],
        **at,
    )
    assert reply.text == "echo: hello there"
    assert reply.finish_reason == "stop"
    assert reply.tool_calls == []
    assert reply.model == "gpt-4o-mini-2024-07-18"  # the response's model
    # 4 prompt words (2 of them cached), 3 reply words, no reasoning
    assert reply.usage == TokenUsage(4, 3, cached_input_tokens=2, reasoning_tokens=0)
    expected = (2 * 0.15 + 2 * 0.075 + 3 * 0.6) / 1_000_000
    assert reply.cost == pytest.approx(expected)
    assert reply.cost == pytest.approx(cost(GPT_4O_MINI, reply.usage))
    assert reply.latency_s > 0
    assert reply.time_to_first_token_s is None
    assert reply.raw.id == "chatcmpl-test0001"
    assert len(reply.trace_id) == 32 and len(reply.span_id) == 16
    sent = llm_server.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json == {
        "model": "gpt-4o-mini",
        "messages": user("hello there"),
        "temperature": 0.2,
        "max_tokens": 50,
        "seed": 7,
        "stop": ["END"],
    }


def test_chat_span_is_stored_with_model_provider_tokens_and_cost(at: dict[str, str]) -> None:
    reply = llm.chat("gpt-4o-mini", user("hello there"), temperature=0.2, **at)
    span = stored_span(reply.trace_id, reply.span_id)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.LLM
    assert span.status is not SpanStatus.ERROR
    assert span.model == "gpt-4o-mini-2024-07-18"
    assert span.provider == "openai"
    assert (span.input_tokens, span.output_tokens) == (4, 3)
    assert (span.cached_input_tokens, span.reasoning_tokens) == (2, 0)
    assert span.cost == pytest.approx(reply.cost)
    attributes = span.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["windlass.cost"] == pytest.approx(reply.cost)
    assert json.loads(attributes["gen_ai.input.messages"]) == user("hello there")
    assert json.loads(attributes["gen_ai.output.messages"]) == [
        {"role": "assistant", "content": "echo: hello there", "finish_reason": "stop"}
    ]
    assert attributes["output.value"] == "echo: hello there"
    assert span.output == "echo: hello there"


def test_reasoning_tokens_are_counted_and_priced_once(at: dict[str, str]) -> None:
    reply = llm.chat("o4-mini", [{"role": "user", "content": "think hard now"}], **at)
    # 3 prompt words (2 cached); "echo: think hard now" is 4 words, plus 7 reasoning tokens
    assert reply.usage == TokenUsage(3, 11, cached_input_tokens=2, reasoning_tokens=7)
    expected = (1 * 1.1 + 2 * 0.275 + 4 * 4.4 + 7 * 4.4) / 1_000_000
    assert reply.cost == pytest.approx(expected)
    span = stored_span(reply.trace_id, reply.span_id)
    assert (span.input_tokens, span.output_tokens, span.reasoning_tokens) == (3, 11, 7)
    assert span.cost == pytest.approx(expected)


def test_an_unknown_model_costs_none_and_warns(at: dict[str, str]) -> None:
    model = f"house-model-{new_id()[:8]}"
    with pytest.warns(UnknownModelPriceWarning, match=model):
        reply = llm.chat(model, "hi", **at)
    assert reply.usage is not None
    assert reply.cost is None
    span = stored_span(reply.trace_id, reply.span_id)
    assert span.cost is None
    assert "windlass.cost" not in span.attributes
    assert span.input_tokens == 1


def test_a_string_is_one_user_message_and_the_reply_continues_a_conversation(
    llm_server: OpenAIServer, at: dict[str, str]
) -> None:
    first = llm.chat("gpt-4o-mini", "hi", **at)
    assert llm_server.requests[-1].json["messages"] == [{"role": "user", "content": "hi"}]
    history = [
        {"role": "user", "content": "hi"},
        first.message(),
        {"role": "user", "content": "again"},
    ]
    assert llm.chat("gpt-4o-mini", history, **at).text == "echo: again"
    assert llm_server.requests[-1].json["messages"][1] == {
        "role": "assistant",
        "content": "echo: hi",
    }


def test_bad_arguments_are_refused_before_any_request(
    llm_server: OpenAIServer, at: dict[str, str]
) -> None:
    with pytest.raises(InvalidInput, match="messages"):
        llm.chat("gpt-4o-mini", [], **at)
    with pytest.raises(InvalidInput, match="model"):
        llm.chat("", "hi", **at)
    with pytest.raises(InvalidInput, match="stream_chat"):
        llm.chat("gpt-4o-mini", "hi", stream=True, **at)
    with pytest.raises(InvalidInput, match="input"):
        llm.embed("text-embedding-3-small", [], **at)
    with pytest.raises(InvalidInput, match="base_url"):
        llm.chat("gpt-4o-mini", "hi", base_url="ftp://example.com/v1", api_key=KEY)
    assert llm_server.requests == []


# -- tool calls ------------------------------------------------------------------------------------
def test_tool_calls_are_returned_and_parsed(at: dict[str, str]) -> None:
    reply = llm.chat(
        "gpt-4o-mini", 'call:get_weather {"city": "Paris"}', tools=TOOLS, tool_choice="auto", **at
    )
    assert reply.finish_reason == "tool_calls"
    assert reply.text == ""
    [call] = reply.tool_calls
    assert (call.name, call.arguments) == ("get_weather", '{"city": "Paris"}')
    assert call.id.startswith("call_")
    assert call.json() == {"city": "Paris"}
    assert reply.message()["tool_calls"][0]["function"]["name"] == "get_weather"
    span = stored_span(reply.trace_id, reply.span_id)
    assert json.loads(span.attributes["gen_ai.tool.definitions"]) == TOOLS
    assert json.loads(span.attributes["output.value"]) == [
        {"id": call.id, "name": "get_weather", "arguments": '{"city": "Paris"}'}
    ]


def test_streamed_tool_calls_are_reassembled(at: dict[str, str]) -> None:
    message = 'call:get_weather {"city": "Paris"}\ncall:get_weather {"city": "Oslo"}'
    with llm.stream_chat("gpt-4o-mini", message, tools=TOOLS, **at) as stream:
        assert list(stream) == []  # no text, only tool calls
    reply = stream.reply
    assert reply.finish_reason == "tool_calls"
    assert [(c.name, c.json()) for c in reply.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Oslo"}),
    ]
    assert reply.usage is not None and reply.usage.output_tokens == 6


def test_tool_arguments_that_are_not_json_name_the_tool(
    llm_server: OpenAIServer, at: dict[str, str]
) -> None:
    llm_server.add_reply(
        tool_calls=[("lookup_order", "{not json"), ("list_all", "[1, 2]"), ("no_arguments", "")]
    )
    reply = llm.chat("gpt-4o-mini", "go", tools=TOOLS, **at)
    broken, listed, empty = reply.tool_calls
    with pytest.raises(InvalidInput, match="lookup_order") as info:
        broken.json()
    assert info.value.details["tool"] == "lookup_order"
    with pytest.raises(InvalidInput, match="list_all"):
        listed.json()
    assert empty.json() == {}


# -- streams -------------------------------------------------------------------------------------
def test_stream_yields_text_deltas_then_the_whole_reply(
    llm_server: OpenAIServer, at: dict[str, str]
) -> None:
    llm_server.first_token_delay = 0.3
    stream = llm.stream_chat("gpt-4o-mini", user("stream these words"), **at)
    deltas = list(stream)
    assert deltas == ["echo:", " stream", " these", " words"]
    reply = stream.reply
    assert reply.text == "".join(deltas)
    assert reply.finish_reason == "stop"
    assert reply.usage == TokenUsage(5, 4, cached_input_tokens=2, reasoning_tokens=0)
    assert reply.cost == pytest.approx(cost(GPT_4O_MINI, reply.usage))
    assert reply.time_to_first_token_s is not None
    assert reply.time_to_first_token_s >= 0.3
    assert reply.latency_s >= reply.time_to_first_token_s
    assert reply.raw[0].object == "chat.completion.chunk"
    assert llm_server.requests[-1].json["stream_options"] == {"include_usage": True}
    span = stored_span(reply.trace_id, reply.span_id)
    assert span.kind is SpanKind.LLM
    assert (span.input_tokens, span.output_tokens, span.cached_input_tokens) == (5, 4, 2)
    assert span.cost == pytest.approx(reply.cost)
    assert span.attributes["windlass.llm.time_to_first_token"] >= 0.3
    assert span.output == reply.text


def test_reply_is_refused_until_the_stream_ended(at: dict[str, str]) -> None:
    with llm.stream_chat("gpt-4o-mini", "one two three", **at) as stream:
        with pytest.raises(InvalidState, match="not ended"):
            _ = stream.reply
        next(stream)
        with pytest.raises(InvalidState):
            _ = stream.reply


def test_closing_a_stream_early_ends_its_span(llm_server: OpenAIServer, at: dict[str, str]) -> None:
    llm_server.chunk_delay = 0.02
    with llm.stream_chat("gpt-4o-mini", "a b c d e f g h", **at) as stream:
        first = next(stream)
    assert first == "echo:"
    assert stream.reply.text == "echo:"
    assert stream.reply.usage is None and stream.reply.cost is None
    span = stored_span(stream.trace_id, stream.span_id)
    assert span.end_time_ns > span.start_time_ns
    assert "stream closed early" in [event.name for event in span.events]
    assert span.output == "echo:"


def test_a_stream_dropped_half_read_still_ends_its_span(at: dict[str, str]) -> None:
    stream = llm.stream_chat("gpt-4o-mini", "a b c d", **at)
    next(stream)
    trace_id, span_id = stream.trace_id, stream.span_id
    del stream
    gc.collect()
    assert stored_span(trace_id, span_id).output == "echo:"


def test_stream_span_is_not_the_parent_of_spans_made_while_reading(at: dict[str, str]) -> None:
    with tracing.span("agent", kind="agent") as agent:
        stream = llm.stream_chat("gpt-4o-mini", "a b", **at)
        for _ in stream:
            with tracing.span("consumer", kind="chain"):
                pass
    spans = {s.name: s for s in stored(agent.trace_id)}
    assert spans["chat gpt-4o-mini"].parent_span_id == agent.span_id
    assert spans["consumer"].parent_span_id == agent.span_id


# -- embeddings ------------------------------------------------------------------------------------
def test_embed_returns_vectors_tokens_cost_and_a_span(
    llm_server: OpenAIServer, at: dict[str, str]
) -> None:
    reply = llm.embed("text-embedding-3-small", ["hello world", "bye"], **at)
    assert reply.vectors == [embedding_for("hello world", 8), embedding_for("bye", 8)]
    assert reply.model == "text-embedding-3-small"
    assert reply.input_tokens == 3
    assert reply.cost == pytest.approx(3 * 0.02 / 1_000_000)
    single = llm.embed("text-embedding-3-small", "one", dimensions=4, **at)
    assert single.vectors == [embedding_for("one", 4)]
    as_base64 = llm.embed("text-embedding-3-small", "one", encoding_format="base64", **at)
    assert as_base64.vectors == [embedding_for("one", 8)]
    span = stored_span(reply.trace_id, reply.span_id)
    assert span.name == "embeddings text-embedding-3-small"
    assert span.kind is SpanKind.EMBEDDING
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert json.loads(span.attributes["input.value"]) == ["hello world", "bye"]
    assert span.attributes["windlass.embedding.vector_count"] == 2
    assert span.input_tokens == 3
    assert span.cost == pytest.approx(reply.cost)


# -- async twins -----------------------------------------------------------------------------------
def test_async_chat_stream_and_embed(llm_server: OpenAIServer, at: dict[str, str]) -> None:
    llm_server.first_token_delay = 0.2

    async def main() -> tuple[Any, ...]:
        reply = await llm.achat("gpt-4o-mini", user("async hello"), **at)
        deltas = [d async for d in llm.astream_chat("o4-mini", "streamed reply", **at)]
        awaited = await llm.astream_chat("gpt-4o-mini", "awaited", **at)
        async with awaited:
            texts = [d async for d in awaited]
        vectors = await llm.aembed("text-embedding-3-small", ["x y"], **at)
        gathered = await asyncio.gather(
            *(llm.achat("gpt-4o-mini", f"n{i}", **at) for i in range(3))
        )
        return reply, deltas, awaited, texts, vectors, gathered

    reply, deltas, awaited, texts, vectors, gathered = asyncio.run(main())
    assert reply.text == "echo: async hello"
    assert reply.cost == pytest.approx(cost(GPT_4O_MINI, reply.usage))
    assert deltas == ["echo:", " streamed", " reply"]
    assert texts == ["echo:", " awaited"]
    assert awaited.reply.text == "echo: awaited"
    assert awaited.reply.time_to_first_token_s >= 0.2
    assert awaited.reply.usage is not None
    assert vectors.vectors == [embedding_for("x y", 8)]
    assert [g.text for g in gathered] == ["echo: n0", "echo: n1", "echo: n2"]
    span = stored_span(awaited.reply.trace_id, awaited.reply.span_id)
    assert span.attributes["windlass.llm.time_to_first_token"] >= 0.2
    assert span.output_tokens == 2


def test_async_calls_nest_and_carry_the_session(at: dict[str, str]) -> None:
    async def main() -> str:
        with tracing.span("agent", kind="agent") as agent:
            await llm.achat("gpt-4o-mini", "hi", session_id="s-async", **at)
            async for _ in llm.astream_chat("gpt-4o-mini", "yo", user_id="u-async", **at):
                pass
        return agent.trace_id

    spans = stored(asyncio.run(main()))
    agent = next(s for s in spans if s.name == "agent")
    calls = [s for s in spans if s.kind is SpanKind.LLM]
    assert len(calls) == 2
    assert all(s.parent_span_id == agent.span_id for s in calls)
    assert {(s.session_id, s.user_id) for s in calls} == {("s-async", None), (None, "u-async")}


def test_async_errors_are_provider_errors(
    at: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_LLM_MAX_RETRIES", "0")

    async def main() -> None:
        await llm.achat("error-400", "hi", **at)

    with pytest.raises(ProviderError, match="HTTP 400") as info:
        asyncio.run(main())
    assert info.value.details["model"] == "error-400"

    async def streamed() -> None:
        async for _ in llm.astream_chat("error-503", "hi", **at):
            pass

    with pytest.raises(ProviderError, match="HTTP 503"):
        asyncio.run(streamed())


# -- sessions, users, nesting ------------------------------------------------------------------
def test_session_and_user_are_set_on_the_span(at: dict[str, str]) -> None:
    reply = llm.chat("gpt-4o-mini", "hi", session_id="s-42", user_id="u-7", **at)
    span = stored_span(reply.trace_id, reply.span_id)
    assert (span.session_id, span.user_id) == ("s-42", "u-7")
    assert span.attributes["session.id"] == "s-42"


def test_calls_nest_under_an_agent_span(at: dict[str, str]) -> None:
    with tracing.trace_context(session_id="outer"), tracing.span("agent", kind="agent") as agent:
        reply = llm.chat("gpt-4o-mini", "hi", span_name="plan step", **at)
        vectors = llm.embed("text-embedding-3-small", "hi", **at)
    assert reply.trace_id == vectors.trace_id == agent.trace_id
    spans = {s.name: s for s in stored(agent.trace_id)}
    assert spans["plan step"].parent_span_id == agent.span_id
    assert spans["embeddings text-embedding-3-small"].parent_span_id == agent.span_id
    assert spans["plan step"].session_id == "outer"


# -- where calls go ------------------------------------------------------------------------------
def test_a_provider_profile_from_a_yaml_file(
    llm_server: OpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "providers.yaml"
    profiles.write_text(
        f"local:\n  base_url: {llm_server.base_url}\n"
        f"  api_key_env: LOCAL_LLM_KEY\n  provider: vllm\n"
        f"other:\n  base_url: http://127.0.0.1:9/v1\n"
    )
    monkeypatch.setenv("WINDLASS_LLM_PROVIDERS", str(profiles))
    monkeypatch.setenv("LOCAL_LLM_KEY", KEY)
    reply = llm.chat("gpt-4o-mini", "hi", provider="local")
    assert reply.text == "echo: hi"
    assert llm_server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    span = stored_span(reply.trace_id, reply.span_id)
    assert span.provider == "vllm"
    assert span.cost == pytest.approx(reply.cost)  # priced by the model name alone
    assert reply.cost is not None
    endpoint = llm.resolve_endpoint("local")
    assert (endpoint.base_url, endpoint.provider) == (llm_server.base_url, "vllm")
    assert KEY not in repr(endpoint)


def test_a_provider_profile_from_a_json_file_with_an_inline_key(
    llm_server: OpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "providers.json"
    profiles.write_text(json.dumps({"lab": {"base_url": llm_server.base_url, "api_key": KEY}}))
    monkeypatch.setenv("WINDLASS_LLM_PROVIDERS", str(profiles))
    reply = llm.chat("gpt-4o-mini", "hi", provider="lab")
    assert stored_span(reply.trace_id, reply.span_id).provider == "lab"  # the profile's name
    assert llm.embed("text-embedding-3-small", "hi", provider="lab").input_tokens == 1


def test_an_unknown_profile_names_the_file_and_the_known_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "providers.yaml"
    profiles.write_text(
        "local:\n  base_url: http://127.0.0.1:9/v1\ngateway:\n  base_url: http://127.0.0.1:10/v1\n"
    )
    monkeypatch.setenv("WINDLASS_LLM_PROVIDERS", str(profiles))
    with pytest.raises(ConfigError) as info:
        llm.chat("gpt-4o-mini", "hi", provider="nope")
    assert str(profiles) in info.value.message
    assert "['gateway', 'local']" in info.value.message
    monkeypatch.delenv("WINDLASS_LLM_PROVIDERS")
    with pytest.raises(ConfigError, match="WINDLASS_LLM_PROVIDERS"):
        llm.chat("gpt-4o-mini", "hi", provider="local")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("local: [1, 2]\n", "must be a mapping"),
        ("local:\n  base_url: http://x/v1\n  secret: 1\n", "unknown key"),
        ("local:\n  api_key: a\n  api_key_env: B\n", "both api_key and api_key_env"),
        ("- just a list\n", "must map profile names"),
        ("local: {base_url: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_profiles_file_names_the_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, problem: str
) -> None:
    profiles = tmp_path / "providers.yaml"
    profiles.write_text(content)
    monkeypatch.setenv("WINDLASS_LLM_PROVIDERS", str(profiles))
    with pytest.raises(ConfigError, match=problem) as info:
        llm.resolve_endpoint("local")
    assert str(profiles) in info.value.message


def test_a_profile_whose_key_variable_is_unset_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "providers.yaml"
    profiles.write_text("local:\n  base_url: http://127.0.0.1:9/v1\n  api_key_env: NOT_SET_KEY\n")
    monkeypatch.setenv("WINDLASS_LLM_PROVIDERS", str(profiles))
    monkeypatch.delenv("NOT_SET_KEY", raising=False)
    with pytest.raises(ConfigError, match="NOT_SET_KEY"):
        llm.chat("gpt-4o-mini", "hi", provider="local")
    # an explicit key needs no variable
    assert llm.resolve_endpoint("local", api_key="k" * 10).api_key == "k" * 10


def test_settings_name_the_default_endpoint_and_key(
    llm_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("WINDLASS_LLM_API_KEY", KEY)
    reply = llm.chat("gpt-4o-mini", "hi")
    assert reply.text == "echo: hi"
    assert llm_server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    assert stored_span(reply.trace_id, reply.span_id).provider == "openai"


def test_openai_variables_are_the_fallback(
    llm_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert llm.chat("gpt-4o-mini", "hi").text == "echo: hi"
    assert llm.resolve_endpoint().base_url == llm_server.base_url


def test_a_configured_key_is_not_sent_to_another_endpoint(
    llm_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_LLM_API_KEY", KEY)  # meant for api.openai.com
    monkeypatch.setenv("WINDLASS_LLM_MAX_RETRIES", "0")
    with pytest.raises(ProviderError, match="HTTP 401") as info:
        llm.chat("gpt-4o-mini", "hi", base_url=llm_server.base_url)
    assert KEY not in llm_server.requests[-1].headers.get("authorization", "")
    assert "no API key was configured" in info.value.message
    # the explicit base_url names the provider recorded when no profile has that name
    endpoint = llm.resolve_endpoint("ollama", base_url=llm_server.base_url, api_key=KEY)
    assert (endpoint.provider, endpoint.api_key) == ("ollama", KEY)


def test_openai_without_a_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        llm.chat("gpt-4o-mini", "hi")


def test_retries_come_from_the_setting(
    llm_server: OpenAIServer, at: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ProviderError):
        llm.chat("error-429", "hi", **at)
    assert len(llm_server.requests) == 3  # the SDK's default: 2 retries
    monkeypatch.setenv("WINDLASS_LLM_MAX_RETRIES", "0")
    with pytest.raises(ProviderError):
        llm.chat("error-429", "hi", **at)
    assert len(llm_server.requests) == 4


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 429, 404])
def test_provider_errors_name_host_status_and_model_never_the_key(
    llm_server: OpenAIServer, at: dict[str, str], status: int
) -> None:
    with tracing.span("agent", kind="agent") as agent, pytest.raises(ProviderError) as info:
        llm.chat(f"error-{status}", "hi", **at)
    error = info.value
    assert error.error_code == "PROVIDER_ERROR" and error.http_status == 502
    assert f"HTTP {status}" in error.message
    assert f"error-{status}" in error.message
    assert f"127.0.0.1:{llm_server.port}" in error.message
    assert f"Scripted error {status}" in error.message
    assert error.details == {
        "status": status,
        "model": f"error-{status}",
        "base_url": llm_server.base_url,
    }
    assert KEY not in str(error) and KEY not in json.dumps(error.to_dict())
    span = next(s for s in stored(agent.trace_id) if s.kind is SpanKind.LLM)
    assert span.status is SpanStatus.ERROR
    assert f"{status}" in span.status_message
    assert [e.name for e in span.events] == ["exception"]
    assert span.attributes["error.type"].startswith("openai.")
    assert KEY not in json.dumps(span.to_dict())


def test_a_wrong_key_is_a_401_that_does_not_echo_the_key(
    llm_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_LLM_MAX_RETRIES", "0")
    wrong = "sk-wrong-key-987654321"
    with pytest.raises(ProviderError, match="HTTP 401") as info:
        llm.chat("gpt-4o-mini", "hi", base_url=llm_server.base_url, api_key=wrong)
    assert wrong not in str(info.value)
    assert info.value.details["status"] == 401


def test_an_unreachable_endpoint_is_a_provider_error_without_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WINDLASS_LLM_MAX_RETRIES", "0")
    port = free_port()
    with pytest.raises(ProviderError, match="could not connect") as info:
        llm.chat("gpt-4o-mini", "hi", base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY)
    assert info.value.details["status"] is None
    assert f"127.0.0.1:{port}" in info.value.message
    with pytest.raises(ProviderError, match="could not connect"):
        llm.stream_chat("gpt-4o-mini", "hi", base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY)


def test_a_timeout_is_a_provider_error(
    llm_server: OpenAIServer, at: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_LLM_MAX_RETRIES", "0")
    llm_server.first_token_delay = 2
    with pytest.raises(ProviderError, match="no answer in time") as info:
        list(llm.stream_chat("gpt-4o-mini", "slow", timeout=0.3, **at))
    assert info.value.details["model"] == "gpt-4o-mini"


def test_the_key_is_in_no_stored_span(
    llm_server: OpenAIServer, at: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_LLM_MAX_RETRIES", "0")
    llm.chat("gpt-4o-mini", "hi", **at)
    list(llm.stream_chat("gpt-4o-mini", "hi", **at))
    llm.embed("text-embedding-3-small", "hi", **at)
    with pytest.raises(ProviderError):
        llm.chat("error-500", "hi", **at)
    with pytest.raises(ProviderError):
        llm.chat("gpt-4o-mini", "hi", base_url=llm_server.base_url, api_key=KEY + "x")
    spans = all_stored_spans()
    assert len(spans) >= 5  # the five calls (and nothing else of this test)
    for span in spans:
        assert KEY not in json.dumps(span.to_dict())


# -- redaction and the size cap ------------------------------------------------------------------
def test_the_redaction_hook_sees_messages_and_outputs(at: dict[str, str]) -> None:
    seen: list[Any] = []

    def redact(value: Any) -> Any:
        seen.append(value)
        return json.loads(json.dumps(value).replace("ada@example.com", "[email]"))

    tracing.set_redactor(redact)
    reply = llm.chat("gpt-4o-mini", user("mail ada@example.com"), **at)
    assert reply.text == "echo: mail ada@example.com"  # the caller gets the real reply
    streamed = llm.stream_chat("gpt-4o-mini", "to ada@example.com", **at)
    list(streamed)
    vectors = llm.embed("text-embedding-3-small", ["ada@example.com"], **at)
    assert user("mail ada@example.com") in seen  # messages, as the list of dicts
    for trace_id, span_id in [
        (reply.trace_id, reply.span_id),
        (streamed.trace_id, streamed.span_id),
        (vectors.trace_id, vectors.span_id),
    ]:
        span = stored_span(trace_id, span_id)
        assert "ada@example.com" not in json.dumps(span.to_dict())
        assert "[email]" in (span.input or "")
    span = stored_span(reply.trace_id, reply.span_id)
    assert span.attributes["output.value"] == "echo: mail [email]"
    assert "[email]" in span.attributes["gen_ai.output.messages"]


def test_a_failing_redactor_records_a_placeholder_not_the_text(at: dict[str, str]) -> None:
    def broken(value: Any) -> Any:
        raise RuntimeError("bug in the hook")

    tracing.set_redactor(broken)
    reply = llm.chat("gpt-4o-mini", "secret stuff", **at)
    assert reply.text == "echo: secret stuff"
    span = stored_span(reply.trace_id, reply.span_id)
    assert "secret stuff" not in json.dumps(span.to_dict())
    assert span.attributes["gen_ai.input.messages"] == "<redaction failed: RuntimeError>"


def test_captured_messages_are_capped(at: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINDLASS_TRACE_MAX_CHARS", "60")
    long_text = " ".join(f"word{i}" for i in range(200))
    reply = llm.chat("gpt-4o-mini", long_text, **at)
    assert reply.text == f"echo: {long_text}"  # the reply itself is never cut
    span = stored_span(reply.trace_id, reply.span_id)
    for key in ("gen_ai.input.messages", "gen_ai.output.messages", "output.value"):
        value = span.attributes[key]
        assert len(value) < 100
        assert "…[truncated " in value


# -- import cost ---------------------------------------------------------------------------------
def test_importing_llm_loads_neither_openai_nor_opentelemetry() -> None:
    code = (
        "import sys, windlass.genai.llm.client\n"
        "print(','.join(m for m in ('openai', 'opentelemetry', 'yaml', 'httpx') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
