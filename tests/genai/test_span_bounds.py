"""bound_span: spans brought within the stored bounds, with a note saying what changed."""

from __future__ import annotations

import math

from windlass.entities import (
    ADJUSTED_ATTRIBUTE,
    MAX_ATTRIBUTE_CHARS,
    MAX_TIME_NS,
    MAX_TOKEN_COUNT,
    Span,
    SpanEvent,
)
from windlass.genai.tracing.span_bounds import bound_span

BASE = 1_700_000_000 * 10**9


def _span(**fields: object) -> Span:
    values: dict[str, object] = {
        "trace_id": "a" * 32,
        "span_id": "b" * 16,
        "name": "n",
        "start_time_ns": BASE,
        "end_time_ns": BASE + 1,
    }
    values.update(fields)
    return Span(**values)  # type: ignore[arg-type]


def test_a_span_within_bounds_is_returned_as_it_is() -> None:
    span = _span(
        attributes={"k": "v" * 100, "n": 2**63 - 1, "list": [1, "x"]},
        input_tokens=MAX_TOKEN_COUNT,
        cost=0.5,
    )
    assert bound_span(span) is span


def test_everything_out_of_bounds_is_clamped_and_noted() -> None:
    huge = "x" * (MAX_ATTRIBUTE_CHARS + 3)
    attributes = {"deep": {"list": [huge, 2**70]}, "n": -(2**63) - 1}
    span = _span(
        start_time_ns=2**64 - 1,
        end_time_ns=5,
        input_tokens=2**40,
        output_tokens=-3,
        reasoning_tokens=7,
        prompt_version=-1,
        cost=math.inf,
        name=huge,
        attributes=attributes,
        resource={"r": huge},
        events=(SpanEvent("e", 2**64 - 1, {"a": huge}),),
    )
    bounded = bound_span(span)
    assert bounded.start_time_ns == bounded.end_time_ns == MAX_TIME_NS
    assert (bounded.input_tokens, bounded.output_tokens, bounded.reasoning_tokens) == (
        MAX_TOKEN_COUNT,
        None,
        7,
    )
    assert bounded.prompt_version is None and bounded.cost is None
    cut = "x" * MAX_ATTRIBUTE_CHARS + "…[truncated 3 chars]"
    assert bounded.name == cut and bounded.resource == {"r": cut}
    assert bounded.attributes["deep"] == {"list": [cut, str(2**70)]}
    assert bounded.attributes["n"] == str(-(2**63) - 1)
    assert bounded.events == (SpanEvent("e", MAX_TIME_NS, {"a": cut}),)
    notes = bounded.attributes[ADJUSTED_ATTRIBUTE]
    for field in (
        "start_time_ns",
        "end_time_ns",
        "input_tokens",
        "output_tokens",
        "prompt_version",
        "cost",
        "name",
        "resource.r",
        "attributes.deep.list[0]",
        "attributes.deep.list[1]",
        "attributes.n",
        "events[0].time_ns",
        "events[0].attributes.a",
    ):
        assert any(note.startswith(f"{field}:") for note in notes), (field, notes)
    # The original span and its dicts are untouched.
    assert span.attributes == attributes and ADJUSTED_ATTRIBUTE not in span.attributes


def test_unusable_token_attributes_are_noted_but_kept() -> None:
    span = _span(attributes={"gen_ai.usage.input_tokens": -5, "gen_ai.usage.output_tokens": "lots"})
    bounded = bound_span(span)
    assert bounded.attributes["gen_ai.usage.input_tokens"] == -5
    assert bounded.attributes[ADJUSTED_ATTRIBUTE] == [
        "attributes.gen_ai.usage.input_tokens: -5 is not a token count, ignored",
        "attributes.gen_ai.usage.output_tokens: lots is not a token count, ignored",
    ]


def test_an_end_before_the_start_becomes_the_start() -> None:
    bounded = bound_span(_span(end_time_ns=BASE - 10))
    assert bounded.end_time_ns == BASE
    assert bounded.attributes[ADJUSTED_ATTRIBUTE] == [
        f"end_time_ns: {BASE - 10} is before start_time_ns {BASE}, set to it"
    ]
