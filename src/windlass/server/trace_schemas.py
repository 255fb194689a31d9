"""Request bodies of the trace routes (pydantic; they document the OpenAPI spec).

A span travels as :meth:`windlass.trace_entities.Span.to_dict` writes it. Only the JSON
shape is checked here: ids, text and numbers are checked by the store, which names the
span and the field it refuses (InvalidInput), whichever door the span came through.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from windlass.server.schemas import _Body

Id = Annotated[str, Field(max_length=64)]
Text = Annotated[str, Field(max_length=10_000_000)]
ShortText = Annotated[str, Field(max_length=100_000)]
KindName = Literal["llm", "embedding", "retriever", "reranker", "tool", "agent", "chain",
                   "guardrail", "evaluator", "unknown"]
"""The values of :class:`windlass.trace_entities.SpanKind`."""
StatusName = Literal["unset", "ok", "error"]
"""The values of :class:`windlass.trace_entities.SpanStatus`."""
Cost = Annotated[float, Field(allow_inf_nan=False)]


class SpanEventBody(_Body):
    """A timestamped event inside a span."""

    name: ShortText
    time_ns: int
    attributes: dict[str, Any] = Field(default_factory=dict)


class SpanBody(_Body):
    """One span, as ``Span.to_dict()`` writes it (times in nanoseconds since the epoch).

    ``trace_id`` is 32 lowercase hex characters, ``span_id`` and ``parent_span_id`` 16.
    """

    trace_id: Id
    span_id: Id
    parent_span_id: Id | None = None
    name: ShortText
    start_time_ns: int
    end_time_ns: int
    kind: KindName = "unknown"
    status: StatusName = "unset"
    status_message: ShortText = ""
    attributes: dict[str, Any] = Field(default_factory=dict)
    resource: dict[str, Any] = Field(default_factory=dict)
    scope: ShortText = ""
    events: list[SpanEventBody] = Field(default_factory=list)
    input: Text | None = None
    output: Text | None = None
    model: ShortText | None = None
    provider: ShortText | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: Cost | None = Field(default=None, description="US dollars; null: unknown")
    session_id: ShortText | None = None
    user_id: ShortText | None = None
    run_id: ShortText | None = None
    prompt_name: ShortText | None = None
    prompt_version: int | None = None


class SpansIngest(_Body):
    """Spans to store in one project; those it already holds are reported, not stored."""

    spans: list[SpanBody] = Field(description="As many as fit in the request size limit")
