"""Request bodies of the trace routes (pydantic; they document the OpenAPI spec).

A span travels as :meth:`windlass.entities.Span.to_dict` writes it. The schema
states what the server enforces: id patterns, integers within their 64-bit ranges (exact
JSON integers in the OpenAPI document; a number such as ``12.0`` is taken as ``12``,
strings are not), costs non-negative and finite. Content the JSON shape cannot express
(NUL characters) is checked by the store, which names the span and field it refuses.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from windlass.entities import MAX_TIME_NS, MAX_TOKEN_COUNT
from windlass.server.schemas import _Body

INT64_MAX = 2**63 - 1
"""The largest integer a body field takes (what the store's 64-bit columns hold)."""
TRACE_ID_PATTERN = "^[0-9a-fA-F]{32}$"
"""A trace id: 32 hex characters (stored in lower case)."""
SPAN_ID_PATTERN = "^[0-9a-fA-F]{16}$"
"""A span id: 16 hex characters (stored in lower case)."""


def _whole_number(value: Any) -> Any:
    """Let a JSON number with a zero fraction (``12.0``) stand for the integer it is.

    JSON Schema's ``integer`` type includes such numbers, so the body fields declared
    ``integer`` take them; strings and booleans stay refused (bodies are strict).
    """
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def _in_range(low: int, high: int) -> AfterValidator:
    """Refuse integers outside ``low..high`` with a message naming the stored range."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}, the range that can be stored")
        return value

    return AfterValidator(check)


def _integer(low: int, high: int, description: str) -> Any:
    """Return the Field of an integer body field: its description and exact bounds."""
    # The bounds are checked by _in_range rather than Field(ge, le) so the message says
    # what is wrong in the store's words; the schema states them as exact JSON integers.
    return Field(
        description=description + " A JSON integer (a number such as 12.0 is "
        "taken as 12; strings are refused).",
        json_schema_extra={"minimum": low, "maximum": high},
    )


def _hex_id(what: str, size: int) -> AfterValidator:
    """Refuse what is not ``size`` hex characters, in the store's words; keep lower case."""
    compiled = re.compile(f"[0-9a-fA-F]{{{size}}}")

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value[:40]!r} is not a {what}: a {what} has {size} hex characters")
        return value.lower()

    return AfterValidator(check)


def _id_field(pattern: str, size: int) -> Any:
    """Return the Field of an id body field: its pattern and length, for the schema."""
    return Field(
        description=f"{size} hex characters (stored in lower case)",
        json_schema_extra={"pattern": pattern, "minLength": size, "maxLength": size},
    )


_WHOLE = BeforeValidator(_whole_number)
TraceId = Annotated[str, _hex_id("trace id", 32), _id_field(TRACE_ID_PATTERN, 32)]
SpanId = Annotated[str, _hex_id("span id", 16), _id_field(SPAN_ID_PATTERN, 16)]
Nanos = Annotated[
    int, _WHOLE, _in_range(0, MAX_TIME_NS), _integer(0, MAX_TIME_NS, "Nanoseconds since the epoch.")
]
Tokens = Annotated[
    int,
    _WHOLE,
    _in_range(0, INT64_MAX),
    _integer(
        0,
        INT64_MAX,
        f"A token count; counts above {MAX_TOKEN_COUNT} are stored as "
        f"{MAX_TOKEN_COUNT} (noted in the span's windlass.adjusted attribute).",
    ),
]
Version = Annotated[
    int, _WHOLE, _in_range(0, INT64_MAX), _integer(0, INT64_MAX, "A prompt version number.")
]
Text = Annotated[str, Field(max_length=10_000_000)]
ShortText = Annotated[str, Field(max_length=100_000)]
KindName = Literal[
    "llm",
    "embedding",
    "retriever",
    "reranker",
    "tool",
    "agent",
    "chain",
    "guardrail",
    "evaluator",
    "unknown",
]
"""The values of :class:`windlass.entities.SpanKind`."""
StatusName = Literal["unset", "ok", "error"]
"""The values of :class:`windlass.entities.SpanStatus`."""
Cost = Annotated[float, Field(allow_inf_nan=False, ge=0)]


class SpanEventBody(_Body):
    """A timestamped event inside a span."""

    name: ShortText
    time_ns: Nanos
    attributes: dict[str, Any] = Field(default_factory=dict)


class SpanBody(_Body):
    """One span, as ``Span.to_dict()`` writes it (times in nanoseconds since the epoch).

    ``trace_id`` is 32 hex characters, ``span_id`` and ``parent_span_id`` 16 (stored in
    lower case). An end before the start is stored as the start (noted in the span's
    ``windlass.adjusted`` attribute).
    """

    trace_id: TraceId
    span_id: SpanId
    parent_span_id: SpanId | None = None
    name: ShortText
    start_time_ns: Nanos
    end_time_ns: Nanos
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
    input_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    cached_input_tokens: Tokens | None = None
    reasoning_tokens: Tokens | None = None
    cost: Cost | None = Field(
        default=None,
        description="US dollars; null: unknown (a cost over 1e9 is dropped, so unknown)",
    )
    session_id: ShortText | None = None
    user_id: ShortText | None = None
    run_id: ShortText | None = None
    prompt_name: ShortText | None = None
    prompt_version: Version | None = None


class SpansIngest(_Body):
    """Spans to store in one project; those it already holds are reported, not stored."""

    spans: list[SpanBody] = Field(description="As many as fit in the request size limit")
