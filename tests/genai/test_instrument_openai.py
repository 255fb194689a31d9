"""instrument_openai: an application's own openai client, traced, against a real local server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from openai_server import OpenAIServer, embedding_for
from windlass.client import default_client
from windlass.entities import Span, SpanKind, SpanStatus
from windlass.exceptions import InvalidInput
from windlass.genai.llm import client as llm
from windlass.genai.llm.pricing import UnknownModelPriceWarning
from windlass.genai.tracing import instrument
from windlass.genai.tracing import sdk as tracing
from windlass.genai.tracing.service import TraceService
from windlass.ids import new_id

KEY = "sk-instrumented-0123456789"


@pytest.fixture(autouse=True)
def _reset_tracing() -> Iterator[None]:
    yield
    tracing.set_redactor(None)
    tracing.flush_traces()


@pytest.fixture
def llm_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key=KEY, cached_tokens=1, first_token_delay=0.05) as srv:
        yield srv


@pytest.fixture
def client(llm_server: OpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_server.base_url, api_key=KEY, max_retries=0)


@pytest.fixture
def async_client(llm_server: OpenAIServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=llm_server.base_url, api_key=KEY, max_retries=0)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def spans_under(root: tracing.SpanHandle) -> list[Span]:
    """Return the spans of ``root``'s trace other than ``root`` itself."""
    assert tracing.flush_traces()
    spans = TraceService(default_client().tracking.store).get_trace(root.trace_id)
    return [s for s in spans if s.span_id != root.span_id]


def test_chat_completions_are_traced_and_returned_unchanged(client: openai.OpenAI) -> None:
    assert llm.instrument_openai(client) is client
    with tracing.span("root") as root:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=user("hi there"), temperature=0
        )
    assert isinstance(reply, openai.types.chat.ChatCompletion)
    assert reply.choices[0].message.content == "echo: hi there"
    [span] = spans_under(root)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.LLM
    assert span.parent_span_id == root.span_id
    assert span.provider == "openai_compatible"
    assert span.model == "gpt-4o-mini"
    assert (span.input_tokens, span.output_tokens, span.cached_input_tokens) == (2, 3, 1)
    expected = (1 * 0.15 + 1 * 0.075 + 3 * 0.6) / 1_000_000
    assert span.cost == pytest.approx(expected)
    assert span.attributes["windlass.cost"] == pytest.approx(expected)
    assert span.attributes["gen_ai.request.temperature"] == 0
    assert json.loads(span.attributes["gen_ai.input.messages"]) == user("hi there")
    assert span.output == "echo: hi there"
    assert span.attributes["server.address"] == "127.0.0.1"


def test_a_stream_is_wrapped_and_its_span_ends_with_it(
    llm_server: OpenAIServer, client: openai.OpenAI
) -> None:
    llm_server.first_token_delay = 0.2
    instrument.instrument_openai(client, provider="vllm")
    with tracing.span("root") as root:
        stream = client.chat.completions.create(
            model="o4-mini",
            messages=user("stream it"),
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream it"
    assert chunks[-1].usage is not None  # the caller's chunks, untouched
    [span] = spans_under(root)
    assert span.provider == "vllm"
    assert span.output == "echo: stream it"
    assert (span.input_tokens, span.output_tokens, span.reasoning_tokens) == (2, 3 + 7, 7)
    assert span.cost == pytest.approx((1 * 1.1 + 1 * 0.275 + 10 * 4.4) / 1_000_000)
    assert span.attributes["windlass.llm.time_to_first_token"] >= 0.2
    assert span.end_time_ns - span.start_time_ns >= 200_000_000


def test_a_stream_closed_early_ends_its_span(
    llm_server: OpenAIServer, client: openai.OpenAI
) -> None:
    llm_server.chunk_delay = 0.02
    instrument.instrument_openai(client)
    with tracing.span("root") as root:
        with client.chat.completions.create(
            model="gpt-4o-mini", messages=user("a b c d e"), stream=True
        ) as stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    break
        assert stream.response.is_closed  # the SDK stream's own attributes still work
    [span] = spans_under(root)
    assert "stream closed early" in [e.name for e in span.events]
    assert span.output == "echo:"


def test_embeddings_are_traced(client: openai.OpenAI) -> None:
    instrument.instrument_openai(client)
    with tracing.span("root") as root:
        result = client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    assert [d.embedding for d in result.data] == [embedding_for("a b", 8), embedding_for("c", 8)]
    [span] = spans_under(root)
    assert span.name == "embeddings text-embedding-3-small"
    assert span.kind is SpanKind.EMBEDDING
    assert span.input_tokens == 3
    assert span.cost == pytest.approx(3 * 0.02 / 1_000_000)
    assert json.loads(span.attributes["input.value"]) == ["a b", "c"]


def test_instrumenting_twice_traces_once_and_uninstrument_restores(client: openai.OpenAI) -> None:
    instrument.instrument_openai(client)
    instrument.instrument_openai(client)
    with tracing.span("twice") as twice:
        client.chat.completions.create(model="gpt-4o-mini", messages=user("x"))
        client.embeddings.create(model="text-embedding-3-small", input="x")
    assert len(spans_under(twice)) == 2
    assert llm.uninstrument_openai(client) is client
    llm.uninstrument_openai(client)
    with tracing.span("after") as after:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=user("x"))
        client.embeddings.create(model="text-embedding-3-small", input="x")
    assert reply.choices[0].message.content == "echo: x"
    assert spans_under(after) == []
    instrument.instrument_openai(client)  # and again
    with tracing.span("again") as again:
        client.chat.completions.create(model="gpt-4o-mini", messages=user("x"))
    assert len(spans_under(again)) == 1


def test_errors_reach_the_caller_unchanged_and_mark_the_span(client: openai.OpenAI) -> None:
    instrument.instrument_openai(client)
    with tracing.span("root") as root:
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="error-500", messages=user("x"))
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="error-429", messages=user("x"), stream=True)
    spans = spans_under(root)
    assert len(spans) == 2
    for span in spans:
        assert span.status is SpanStatus.ERROR
        assert [e.name for e in span.events] == ["exception"]
        assert KEY not in json.dumps(span.to_dict())
    assert {s.attributes["error.type"] for s in spans} == {
        "openai.InternalServerError",
        "openai.RateLimitError",
    }


def test_async_clients_are_traced(
    llm_server: OpenAIServer, async_client: openai.AsyncOpenAI
) -> None:
    instrument.instrument_openai(async_client)
    instrument.instrument_openai(async_client)

    async def main() -> tuple[str, str, str]:
        with tracing.span("root") as root:
            reply = await async_client.chat.completions.create(
                model="gpt-4o-mini", messages=user("async")
            )
            stream = await async_client.chat.completions.create(
                model="gpt-4o-mini",
                messages=user("streamed"),
                stream=True,
                stream_options={"include_usage": True},
            )
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            await async_client.embeddings.create(model="text-embedding-3-small", input="x")
            async with await async_client.chat.completions.create(
                model="gpt-4o-mini", messages=user("a b c d"), stream=True
            ) as early:
                await early.__anext__()
        assert reply.choices[0].message.content == "echo: async"
        return root.trace_id, root.span_id, "".join(parts)

    trace_id, span_id, text = asyncio.run(main())
    assert text == "echo: streamed"
    assert tracing.flush_traces()
    spans = [
        s
        for s in TraceService(default_client().tracking.store).get_trace(trace_id)
        if s.span_id != span_id
    ]
    assert [s.kind for s in spans] == [SpanKind.LLM, SpanKind.LLM, SpanKind.EMBEDDING, SpanKind.LLM]
    assert all(s.parent_span_id == span_id for s in spans)
    assert spans[1].output == "echo: streamed"
    assert spans[1].output_tokens == 2
    assert spans[3].end_time_ns > 0
    assert "stream closed early" in [e.name for e in spans[3].events]
    llm.uninstrument_openai(async_client)


def test_session_user_redaction_and_unknown_models_apply_too(client: openai.OpenAI) -> None:
    instrument.instrument_openai(client)
    tracing.set_redactor(lambda value: json.loads(json.dumps(value).replace("hunter2", "***")))
    model = f"private-{new_id()[:8]}"
    with (
        tracing.trace_context(session_id="s-1", user_id="u-1"),
        tracing.span("root") as root,
        pytest.warns(UnknownModelPriceWarning, match=model),
    ):
        client.chat.completions.create(model=model, messages=user("pw hunter2"))
    [span] = spans_under(root)
    assert (span.session_id, span.user_id) == ("s-1", "u-1")
    assert "hunter2" not in json.dumps(span.to_dict())
    assert span.cost is None and span.input_tokens == 2


def test_provider_names_from_the_base_url() -> None:
    assert instrument.provider_for_url("https://api.openai.com/v1") == "openai"
    assert instrument.provider_for_url("https://acme.openai.azure.com/openai") == "azure.ai.openai"
    assert instrument.provider_for_url("http://localhost:8000/v1") == "openai_compatible"
    client = openai.OpenAI(api_key=KEY)  # api.openai.com; no request is made
    instrument.instrument_openai(client)
    assert vars(client)["_windlass_instrumentation"].provider == "openai"


def test_only_openai_clients_can_be_instrumented() -> None:
    thing: Any = object()
    with pytest.raises(InvalidInput, match=r"openai\.OpenAI"):
        instrument.instrument_openai(thing)
