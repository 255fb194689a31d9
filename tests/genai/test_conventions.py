"""Normalizing GenAI fields from windlass, OpenTelemetry GenAI and OpenInference attributes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from windlass.entities import Span, SpanEvent, SpanKind
from windlass.genai.tracing.conventions import (
    DEFAULT_MAX_CHARS,
    FIELDS,
    cap_text,
    genai_fields,
    kind_from_attributes,
    normalize,
    to_count,
    to_text,
)

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"


def make_span(
    attributes: dict[str, Any] | None = None, *, events: tuple[SpanEvent, ...] = (), **fields: Any
) -> Span:
    return Span(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        name="s",
        start_time_ns=1,
        end_time_ns=2,
        attributes=attributes or {},
        events=events,
        **fields,
    )


def norm(attributes: dict[str, Any], **kwargs: Any) -> Span:
    return normalize(make_span(attributes), **kwargs)


# -- kinds ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("attributes", "kind"),
    [
        # windlass's own
        ({"windlass.span.kind": "llm"}, SpanKind.LLM),
        ({"windlass.span.kind": "RETRIEVER"}, SpanKind.RETRIEVER),
        ({"windlass.span.kind": "guardrail"}, SpanKind.GUARDRAIL),
        # OpenInference
        ({"openinference.span.kind": "LLM"}, SpanKind.LLM),
        ({"openinference.span.kind": "EMBEDDING"}, SpanKind.EMBEDDING),
        ({"openinference.span.kind": "RETRIEVER"}, SpanKind.RETRIEVER),
        ({"openinference.span.kind": "RERANKER"}, SpanKind.RERANKER),
        ({"openinference.span.kind": "TOOL"}, SpanKind.TOOL),
        ({"openinference.span.kind": "AGENT"}, SpanKind.AGENT),
        ({"openinference.span.kind": "CHAIN"}, SpanKind.CHAIN),
        ({"openinference.span.kind": "GUARDRAIL"}, SpanKind.GUARDRAIL),
        ({"openinference.span.kind": "EVALUATOR"}, SpanKind.EVALUATOR),
        ({"openinference.span.kind": "PROMPT"}, SpanKind.CHAIN),
        ({"openinference.span.kind": "llm"}, SpanKind.LLM),
        ({"openinference.span.kind": "UNKNOWN"}, SpanKind.UNKNOWN),
        # OpenTelemetry GenAI operation names
        ({"gen_ai.operation.name": "chat"}, SpanKind.LLM),
        ({"gen_ai.operation.name": "text_completion"}, SpanKind.LLM),
        ({"gen_ai.operation.name": "generate_content"}, SpanKind.LLM),
        ({"gen_ai.operation.name": "embeddings"}, SpanKind.EMBEDDING),
        ({"gen_ai.operation.name": "retrieval"}, SpanKind.RETRIEVER),
        ({"gen_ai.operation.name": "execute_tool"}, SpanKind.TOOL),
        ({"gen_ai.operation.name": "invoke_agent"}, SpanKind.AGENT),
        ({"gen_ai.operation.name": "create_agent"}, SpanKind.AGENT),
        ({"gen_ai.operation.name": "invoke_workflow"}, SpanKind.CHAIN),
        ({"gen_ai.operation.name": "teleport"}, SpanKind.UNKNOWN),
        # OpenLLMetry
        ({"traceloop.span.kind": "workflow"}, SpanKind.CHAIN),
        ({"traceloop.span.kind": "tool"}, SpanKind.TOOL),
        # precedence: windlass > OpenInference > GenAI
        (
            {
                "windlass.span.kind": "tool",
                "openinference.span.kind": "LLM",
                "gen_ai.operation.name": "chat",
            },
            SpanKind.TOOL,
        ),
        ({"openinference.span.kind": "AGENT", "gen_ai.operation.name": "chat"}, SpanKind.AGENT),
        ({"windlass.span.kind": "bogus", "openinference.span.kind": "TOOL"}, SpanKind.TOOL),
        ({"windlass.span.kind": 3, "gen_ai.operation.name": "embeddings"}, SpanKind.EMBEDDING),
        # fallback: a model and a token count make an LLM call
        ({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 3}, SpanKind.LLM),
        ({"llm.model_name": "claude", "llm.token_count.completion": 3}, SpanKind.LLM),
        ({"gen_ai.request.model": "gpt-4o"}, SpanKind.UNKNOWN),
        ({"gen_ai.usage.input_tokens": 3}, SpanKind.UNKNOWN),
        ({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": -3}, SpanKind.UNKNOWN),
        ({}, SpanKind.UNKNOWN),
    ],
)
def test_kind_mapping(attributes: dict[str, Any], kind: SpanKind) -> None:
    assert norm(attributes).kind is kind


def test_kind_from_attributes_reads_declarations_only() -> None:
    assert kind_from_attributes({"openinference.span.kind": "TOOL"}) is SpanKind.TOOL
    assert (
        kind_from_attributes({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 1})
        is SpanKind.UNKNOWN
    )


# -- model, provider, who ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("attributes", "model"),
    [
        (
            {"gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.request.model": "gpt-4o"},
            "gpt-4o-2024-08-06",
        ),
        ({"gen_ai.request.model": "gpt-4o"}, "gpt-4o"),
        ({"llm.model_name": "claude-sonnet"}, "claude-sonnet"),
        ({"llm.response.model_name": "b", "llm.request.model_name": "a"}, "b"),
        ({"llm.request.model_name": "a"}, "a"),
        ({"embedding.model_name": "all-MiniLM-L6-v2"}, "all-MiniLM-L6-v2"),
        ({"gen_ai.request.model": "gpt-4o", "llm.model_name": "other"}, "gpt-4o"),
        ({"gen_ai.response.model": "", "gen_ai.request.model": "gpt-4o"}, "gpt-4o"),
        ({"gen_ai.response.model": ["x"]}, None),
    ],
)
def test_model(attributes: dict[str, Any], model: str | None) -> None:
    assert norm(attributes).model == model


@pytest.mark.parametrize(
    ("attributes", "provider"),
    [
        ({"gen_ai.provider.name": "azure.ai.openai", "gen_ai.system": "openai"}, "azure.ai.openai"),
        ({"gen_ai.system": "anthropic"}, "anthropic"),
        ({"llm.provider": "azure", "llm.system": "openai"}, "azure"),
        ({"llm.system": "openai"}, "openai"),
        ({}, None),
    ],
)
def test_provider(attributes: dict[str, Any], provider: str | None) -> None:
    assert norm(attributes).provider == provider


def test_who_and_where() -> None:
    span = norm(
        {
            "session.id": "s-1",
            "user.id": "u-1",
            "windlass.run_id": "r" * 32,
            "windlass.prompt.name": "support",
            "windlass.prompt.version": 4,
            "windlass.cost": 0.25,
        }
    )
    assert (span.session_id, span.user_id, span.run_id) == ("s-1", "u-1", "r" * 32)
    assert (span.prompt_name, span.prompt_version, span.cost) == ("support", 4, 0.25)


def test_other_conventions_fill_in_who_and_where() -> None:
    span = norm(
        {
            "gen_ai.conversation.id": "conv-7",
            "enduser.id": 42,
            "gen_ai.prompt.name": "triage",
            "llm.prompt_template.version": "v2",
            "llm.cost.total": "0.5",
        }
    )
    assert (span.session_id, span.user_id) == ("conv-7", "42")
    assert (span.prompt_name, span.prompt_version, span.cost) == ("triage", 2, 0.5)
    assert norm({"session.id": "a", "gen_ai.conversation.id": "b"}).session_id == "a"


@pytest.mark.parametrize(
    ("value", "version"),
    [
        (3, 3),
        ("3", 3),
        ("v3", 3),
        ("V12", 12),
        (3.0, 3),
        ("v1.0", None),
        ("latest", None),
        (-1, None),
        (True, None),
    ],
)
def test_prompt_versions(value: Any, version: int | None) -> None:
    assert norm({"windlass.prompt.version": value}).prompt_version == version


@pytest.mark.parametrize(
    ("value", "cost"),
    [
        (0.5, 0.5),
        (0, 0.0),
        ("0.125", 0.125),
        (-1.0, None),
        ("free", None),
        (math.nan, None),
        (math.inf, None),
        (True, None),
        (10**400, None),
        ("1e400", None),
        ([1.0], None),
    ],
)
def test_costs(value: Any, cost: float | None) -> None:
    assert norm({"windlass.cost": value}).cost == cost


# -- tokens ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("gen_ai.usage.input_tokens", "input_tokens"),
        ("gen_ai.usage.prompt_tokens", "input_tokens"),
        ("llm.token_count.prompt", "input_tokens"),
        ("gen_ai.usage.output_tokens", "output_tokens"),
        ("gen_ai.usage.completion_tokens", "output_tokens"),
        ("llm.token_count.completion", "output_tokens"),
        ("gen_ai.usage.cache_read.input_tokens", "cached_input_tokens"),
        ("gen_ai.usage.cache_read_input_tokens", "cached_input_tokens"),
        ("gen_ai.usage.input_tokens.cached", "cached_input_tokens"),
        ("llm.token_count.prompt_details.cache_read", "cached_input_tokens"),
        ("windlass.usage.reasoning_tokens", "reasoning_tokens"),
        ("gen_ai.usage.reasoning.output_tokens", "reasoning_tokens"),
        ("gen_ai.usage.output_tokens.reasoning", "reasoning_tokens"),
        ("llm.token_count.completion_details.reasoning", "reasoning_tokens"),
    ],
)
def test_every_token_alias(key: str, field: str) -> None:
    span = norm({key: 17})
    assert getattr(span, field) == 17
    others = {"input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens"}
    assert all(getattr(span, other) is None for other in others - {field})


@pytest.mark.parametrize(
    ("keys", "field"),
    [
        (
            ["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"],
            "input_tokens",
        ),
        (
            [
                "gen_ai.usage.output_tokens",
                "gen_ai.usage.completion_tokens",
                "llm.token_count.completion",
            ],
            "output_tokens",
        ),
        (
            [
                "gen_ai.usage.cache_read.input_tokens",
                "gen_ai.usage.cache_read_input_tokens",
                "gen_ai.usage.input_tokens.cached",
                "llm.token_count.prompt_details.cache_read",
            ],
            "cached_input_tokens",
        ),
        (
            [
                "windlass.usage.reasoning_tokens",
                "gen_ai.usage.reasoning.output_tokens",
                "gen_ai.usage.output_tokens.reasoning",
                "llm.token_count.completion_details.reasoning",
            ],
            "reasoning_tokens",
        ),
    ],
)
def test_token_alias_precedence(keys: list[str], field: str) -> None:
    # Insertion order reversed: precedence must come from the convention, not the dict order.
    attributes = {key: 100 + rank for rank, key in reversed(list(enumerate(keys)))}
    assert getattr(norm(attributes), field) == 100
    # A malformed preferred value falls through to the next spelling; the raw one is kept.
    attributes[keys[0]] = "lots"
    span = norm(attributes)
    assert getattr(span, field) == 101
    assert span.attributes[keys[0]] == "lots"


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (12, 12),
        (0, 0),
        ("12", 12),
        (" 12 ", 12),
        (12.0, 12),
        ("12.0", 12),
        ("1e3", 1000),
        (12.5, None),
        ("12.5", None),
        (-1, None),
        ("-3", None),
        (-2.0, None),
        ("abc", None),
        ("", None),
        (True, None),
        (False, None),
        (math.nan, None),
        (math.inf, None),
        ("inf", None),
        ([12], None),
        (None, None),
        ({"n": 1}, None),
        (2**63 - 1, 2**63 - 1),
        (2**63, None),
        ("9" * 5000, None),
        ("1e400", None),
    ],
)
def test_token_counts_are_coerced_never_rejected(value: Any, count: int | None) -> None:
    assert to_count(value) == count
    span = norm({"gen_ai.usage.input_tokens": value})
    assert span.input_tokens == count
    assert span.attributes == {"gen_ai.usage.input_tokens": value}


# -- input and output --------------------------------------------------------------------------
def test_gen_ai_messages_are_kept_as_text() -> None:
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}])
    span = norm({"gen_ai.input.messages": messages, "gen_ai.output.messages": "[]"})
    assert (span.input, span.output) == (messages, "[]")


def test_structured_values_become_json() -> None:
    span = norm({"input.value": ["a", 1, True, None], "output.value": {"k": [1.5]}})
    assert span.input == '["a",1,true,null]'
    assert span.output == '{"k":[1.5]}'


@pytest.mark.parametrize(
    ("attributes", "expected_input", "expected_output"),
    [
        ({"input.value": "q", "gen_ai.input.messages": "[1]"}, "q", None),
        (
            {"gen_ai.prompt": "old prompt", "gen_ai.completion": "old answer"},
            "old prompt",
            "old answer",
        ),
        (
            {"gen_ai.tool.call.arguments": '{"city": "Oslo"}', "gen_ai.tool.call.result": "rainy"},
            '{"city": "Oslo"}',
            "rainy",
        ),
        ({"gen_ai.retrieval.query.text": "shoes"}, "shoes", None),
        ({"input.value": "", "gen_ai.prompt": "fallback"}, "fallback", None),
    ],
)
def test_content_precedence(
    attributes: dict[str, Any], expected_input: str | None, expected_output: str | None
) -> None:
    span = norm(attributes)
    assert (span.input, span.output) == (expected_input, expected_output)


def test_openinference_flattened_messages_are_rebuilt() -> None:
    attributes = {
        # out of order on purpose, with a gap and a nested tool call list
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": "weather in Oslo?",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "be brief",
        "llm.input_messages.10.message.role": "tool",
        "llm.input_messages.10.message.content": "rainy",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "weather",
        "llm.output_messages.0.message.tool_calls.1.tool_call.id": "call_2",
        "llm.input_messages.bogus": "ignored",
        "openinference.span.kind": "LLM",
    }
    span = norm(attributes)
    assert span.input is not None and span.output is not None
    assert json.loads(span.input) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "tool", "content": "rainy"},
    ]
    assert json.loads(span.output) == [
        {
            "role": "assistant",
            "tool_calls": [{"id": "call_1", "function.name": "weather"}, {"id": "call_2"}],
        }
    ]
    assert span.attributes == attributes


def test_odd_indexes_are_skipped_not_fatal() -> None:
    span = norm(
        {
            "llm.input_messages.\u00b2.message.content": "superscript two",
            "llm.input_messages.\u0663.message.content": "arabic three",
            "llm.input_messages." + "9" * 5000 + ".message.content": "huge",
            "llm.input_messages.-1.message.content": "negative",
            "llm.input_messages.1": "no field",
            "llm.input_messages.2.message.content": "kept",
        }
    )
    assert span.input == '[{"content":"kept"}]'


def test_input_value_wins_over_flattened_messages() -> None:
    span = norm({"input.value": "plain", "llm.input_messages.0.message.content": "x"})
    assert span.input == "plain"


def test_retrieval_documents_become_the_output() -> None:
    span = norm(
        {
            "retrieval.documents.0.document.content": "a",
            "retrieval.documents.0.document.score": 0.5,
            "retrieval.documents.1.document.id": 7,
        }
    )
    assert span.output is not None
    assert json.loads(span.output) == [{"content": "a", "score": 0.5}, {"id": 7}]


def test_openllmetry_indexed_prompts_are_rebuilt() -> None:
    span = norm(
        {
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "hi",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "yo",
            "gen_ai.prompt.name": "greeting",
        }
    )
    assert span.input is not None and span.output is not None
    assert json.loads(span.input) == [{"role": "user", "content": "hi"}]
    assert json.loads(span.output) == [{"role": "assistant", "content": "yo"}]
    assert span.prompt_name == "greeting"


def test_content_events_fill_in_when_attributes_are_silent() -> None:
    events = (
        SpanEvent("gen_ai.content.prompt", 5, {"gen_ai.prompt": '[{"role": "user"}]'}),
        SpanEvent("gen_ai.content.completion", 6, {"gen_ai.completion": "answer"}),
    )
    span = normalize(make_span({}, events=events))
    assert (span.input, span.output) == ('[{"role": "user"}]', "answer")
    assert span.events == events
    # attributes win over events
    span = normalize(make_span({"input.value": "attr"}, events=events))
    assert (span.input, span.output) == ("attr", "answer")


def test_inference_details_event_carries_messages() -> None:
    event = SpanEvent(
        "gen_ai.client.inference.operation.details",
        5,
        {"gen_ai.input.messages": "[in]", "gen_ai.output.messages": "[out]"},
    )
    span = normalize(make_span({}, events=(event,)))
    assert (span.input, span.output) == ("[in]", "[out]")


def test_truncation_keeps_a_marker() -> None:
    assert cap_text("abcdef", 6) == "abcdef"
    assert cap_text("abcdefg", 6) == "abcdef…[truncated 1 chars]"
    long_text = "x" * (DEFAULT_MAX_CHARS + 500)
    span = norm({"input.value": long_text, "output.value": ["y" * 50]}, max_chars=20)
    assert span.output == '["' + "y" * 18 + "…[truncated 34 chars]"
    assert span.input == "x" * 20 + f"…[truncated {DEFAULT_MAX_CHARS + 480} chars]"
    assert norm({"input.value": long_text}).input == (
        "x" * DEFAULT_MAX_CHARS + "…[truncated 500 chars]"
    )
    assert span.attributes["input.value"] == long_text


def test_to_text_never_fails() -> None:
    assert to_text("s") == "s"
    assert to_text(5) == "5"
    assert to_text(2**70) == str(2**70)
    assert to_text(10**5000) == "<unprintable int>"
    assert to_text({1, 2}) in ("{1, 2}", "{2, 1}")


# -- normalize as a whole ------------------------------------------------------------------
def test_normalize_keeps_what_is_already_set() -> None:
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 6,
        "input.value": "from attributes",
        "session.id": "attr-session",
    }
    span = make_span(
        attributes, kind=SpanKind.AGENT, model="set", input="set", input_tokens=1, session_id="set"
    )
    result = normalize(span)
    assert result is not span
    assert (result.kind, result.model, result.input) == (SpanKind.AGENT, "set", "set")
    assert (result.input_tokens, result.output_tokens) == (1, 6)
    assert result.session_id == "set"
    assert result.attributes is span.attributes and result.attributes == attributes


def test_normalize_is_idempotent() -> None:
    span = norm(
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "m",
            "llm.token_count.prompt": "7",
            "input.value": "q",
        }
    )
    assert normalize(span) == span


def test_genai_fields_gives_every_field() -> None:
    fields = genai_fields({})
    assert tuple(fields) == FIELDS
    assert fields["kind"] is SpanKind.UNKNOWN
    assert all(value is None for name, value in fields.items() if name != "kind")
    assert set(FIELDS) <= set(Span.__dataclass_fields__)


def test_a_full_openinference_llm_span() -> None:
    span = norm(
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.token_count.prompt": 30,
            "llm.token_count.completion": 12,
            "llm.token_count.prompt_details.cache_read": 16,
            "llm.token_count.completion_details.reasoning": 4,
            "input.value": '{"q": 1}',
            "output.value": "ok",
            "session.id": "sess",
            "user.id": "user",
            "llm.prompt_template.template": "Hello {name}",
            "llm.prompt_template.version": "7",
        }
    )
    assert span.kind is SpanKind.LLM
    assert (span.model, span.provider) == ("gpt-4o-mini", "openai")
    assert (span.input_tokens, span.output_tokens) == (30, 12)
    assert (span.cached_input_tokens, span.reasoning_tokens) == (16, 4)
    assert (span.input, span.output) == ('{"q": 1}', "ok")
    assert (span.session_id, span.user_id, span.prompt_version) == ("sess", "user", 7)
