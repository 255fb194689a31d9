"""Trace routes: ingest spans, search traces, statistics, roll-ups, one trace, span export.

Two families over the same traces domain (:class:`~windlass.genai.tracing.service.TraceService`):

- ``/api/v1/projects/{project}/...``: one project, named by name or id;
- ``/api/v1/traces...`` and ``/api/v1/spans``: any number of projects, each named by a
  repeated ``project_id`` query parameter (a name or an id; none: no traces), and one
  trace by id whatever its project.

Every handler parses, makes one call to the traces domain and renders its answer. Times
are integer nanoseconds since the epoch; ``start_ns <= start < end_ns`` when given.

A span travels as :meth:`windlass.entities.Span.to_dict` writes it. The request schema
states what the server enforces: id patterns, integers within their 64-bit ranges (exact
JSON integers in the OpenAPI document; a number such as ``12.0`` is taken as ``12``,
strings are not), costs non-negative and finite. Content the JSON shape cannot express
(NUL characters) is checked by the store, which names the span and field it refuses.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import AfterValidator, BeforeValidator, Field

from windlass.access.policy import Permission
from windlass.entities import (
    MAX_TIME_NS,
    MAX_TOKEN_COUNT,
    Page,
    Project,
    Span,
    TraceGrouping,
    TraceSummary,
)
from windlass.genai.tracing.service import TraceService
from windlass.server import deps
from windlass.server.api.common import PageToken, RequestBody, ResponseBody, errors, requires
from windlass.server.metrics import TrackingServerMetrics
from windlass.store.bulk import paused_gc
from windlass.store.traces import MAX_SPAN_RESULTS, MAX_TRACE_RESULTS

# -- request bodies ------------------------------------------------------------------------
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
SpanNanos = Annotated[
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


class SpanEventBody(RequestBody):
    """A timestamped event inside a span."""

    name: ShortText
    time_ns: SpanNanos
    attributes: dict[str, Any] = Field(default_factory=dict)


class SpanBody(RequestBody):
    """One span, as ``Span.to_dict()`` writes it (times in nanoseconds since the epoch).

    ``trace_id`` is 32 hex characters, ``span_id`` and ``parent_span_id`` 16 (stored in
    lower case). An end before the start is stored as the start (noted in the span's
    ``windlass.adjusted`` attribute).
    """

    trace_id: TraceId
    span_id: SpanId
    parent_span_id: SpanId | None = None
    name: ShortText
    start_time_ns: SpanNanos
    end_time_ns: SpanNanos
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


class SpansIngest(RequestBody):
    """Spans to store in one project; those it already holds are reported, not stored."""

    spans: list[SpanBody] = Field(description="As many as fit in the request size limit")


# -- response bodies -----------------------------------------------------------------------
class SpanEventOut(ResponseBody):
    """A timestamped event inside a span."""

    name: str
    time_ns: int
    attributes: dict[str, Any]


class SpanOut(ResponseBody):
    """One span as stored (times in nanoseconds since the epoch; ids in lower case)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_time_ns: int
    end_time_ns: int
    kind: KindName
    status: StatusName
    status_message: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    events: list[SpanEventOut]
    input: str | None
    output: str | None
    model: str | None
    provider: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    reasoning_tokens: int | None
    cost: float | None = Field(description="US dollars; null: unknown")
    session_id: str | None
    user_id: str | None
    run_id: str | None
    prompt_name: str | None
    prompt_version: int | None


class SpanPage(ResponseBody):
    """One page of spans in (start, trace id, span id) order."""

    spans: list[SpanOut]
    next_page_token: str | None = None


class TraceSpans(ResponseBody):
    """Every span of one trace, ordered by start time."""

    spans: list[SpanOut]


class TraceSummaryOut(ResponseBody):
    """One trace as a row: root span, timing, status, rolled-up tokens and cost."""

    trace_id: str
    project_id: str
    name: str
    start_time_ns: int
    end_time_ns: int
    duration_ns: int
    status: StatusName
    span_count: int
    session_id: str | None
    user_id: str | None
    input_tokens: int
    output_tokens: int
    cost: float | None
    cost_complete: bool = Field(description="Whether every LLM span of the trace had a cost")
    models: list[str]


class TracePage(ResponseBody):
    """One page of traces matching a search."""

    traces: list[TraceSummaryOut]
    next_page_token: str | None = None


class RollupRow(ResponseBody):
    """Totals of the traces sharing one key: a session, user, UTC day, model or prompt."""

    key: str
    traces: int
    spans: int
    llm_calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float | None = Field(description="Sum of known costs; null: none known")
    unpriced_llm_spans: int


class Rollup(ResponseBody):
    """The traces' totals, one row per key."""

    rollup: list[RollupRow]


class TraceStatsOut(ResponseBody):
    """Volume, errors, latency percentiles (ms), tokens and cost of a set of traces."""

    count: int
    error_count: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float | None
    unpriced_llm_spans: int
    sessions: int
    users: int
    span_count: int
    by_model: list[RollupRow]
    by_day: list[RollupRow]


class SpansIngested(ResponseBody):
    """What an ingest stored: new spans, the duplicates not stored, the spans adjusted."""

    accepted: int
    duplicates: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = Field(
        description="[trace_id, span_id] of each"
    )
    adjusted: int


# -- routes --------------------------------------------------------------------------------
by_project = APIRouter(prefix="/api/v1/projects/{project}", tags=["traces"])
any_project = APIRouter(prefix="/api/v1", tags=["traces"])

ServiceDep = Annotated[TraceService, Depends(deps.trace_service)]
MetricsDep = Annotated[TrackingServerMetrics, Depends(deps.server_metrics)]
ProjectDep = Annotated[Project, Depends(deps.project)]
# Query strings are bounded so that the longest URL these allow stays under the 64 KiB a
# request line may have (a percent-encoded character takes up to 12 bytes).
_PROJECT = "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}$"
ProjectPath = Annotated[str, Path(pattern=_PROJECT, description="Project name or id")]
ProjectIds = Annotated[
    list[Annotated[str, Field(pattern=_PROJECT)]] | None,
    Query(
        max_length=50,
        description="Project names or ids (repeat the parameter, at most 50); none: no traces",
    ),
]
TraceIdPath = Annotated[
    str, Path(pattern=TRACE_ID_PATTERN, description="32 hex characters (either case)")
]
SpanIdPath = Annotated[
    str, Path(pattern=SPAN_ID_PATTERN, description="16 hex characters (either case)")
]
Filter = Annotated[
    str | None,
    Query(
        max_length=2500,
        description="Filter language of runs over trace fields, e.g. "
        "`status = 'error' and model = 'gpt-4o'`",
    ),
]
Nanos = Annotated[
    int | None, Query(ge=0, le=MAX_TIME_NS, description="Nanoseconds since the epoch")
]
OrderBy = Annotated[
    list[Annotated[str, Field(pattern="^[ -~]{1,100}$")]] | None,
    Query(max_length=5, description="`<field> [ASC|DESC]`, repeatable; default newest first"),
]
TraceResults = Annotated[int, Query(ge=1, le=MAX_TRACE_RESULTS)]
SpanResults = Annotated[int, Query(ge=1, le=MAX_SPAN_RESULTS)]
GroupBy = Annotated[TraceGrouping, Query(description="What the rows are per")]


def _json(body: Any) -> Response:
    with paused_gc():  # a page of spans is tens of thousands of small objects
        return Response(orjson.dumps(body), media_type="application/json")


def _traces_page(page: Page[TraceSummary]) -> Response:
    return _json(
        {"traces": [t.to_dict() for t in page.items], "next_page_token": page.next_page_token}
    )


def _spans_page(page: Page[Span]) -> Response:
    return _json(
        {"spans": [s.to_dict() for s in page.items], "next_page_token": page.next_page_token}
    )


# -- one project -----------------------------------------------------------------------------
@by_project.post(
    "/spans",
    response_model=SpansIngested,
    responses=errors(400, 404, 409, 413, 422),
    **requires(Permission.WRITE),
)
def ingest_spans(
    body: SpansIngest, proj: ProjectDep, service: ServiceDep, metrics: MetricsDep
) -> dict[str, Any]:
    """Store spans in the project (priced when their cost is unknown), in one transaction.

    Spans the project already holds (same trace and span id) are not stored again and
    are listed in ``duplicates``, so a retried request is safe.
    """
    since = time.monotonic()
    result = service.ingest_into(proj.id, [Span.from_dict(s.model_dump()) for s in body.spans])
    metrics.observe_ingest(
        {proj.name: result.accepted},
        {proj.name: len(result.duplicates)},
        since,
        {proj.name: result.adjusted},
    )
    return result.to_dict()


@by_project.get(
    "/spans", response_model=SpanPage, responses=errors(400, 404), **requires(Permission.READ)
)
def project_spans(
    project: ProjectPath,
    service: ServiceDep,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
    max_results: SpanResults = 1000,
    page_token: PageToken = None,
) -> Response:
    """Return the project's spans in (start, trace id, span id) order, one page at a time."""
    return _spans_page(service.search_spans([project], start_ns, end_ns, max_results, page_token))


@by_project.get(
    "/traces", response_model=TracePage, responses=errors(400, 404), **requires(Permission.READ)
)
def project_traces(
    project: ProjectPath,
    service: ServiceDep,
    filter: Filter = None,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
    order_by: OrderBy = None,
    max_results: TraceResults = 100,
    page_token: PageToken = None,
) -> Response:
    """Return the project's traces matching ``filter``, newest first unless ordered."""
    return _traces_page(
        service.search_traces(
            [project], filter, start_ns, end_ns, order_by, max_results, page_token
        )
    )


@by_project.get(
    "/traces/stats",
    response_model=TraceStatsOut,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def project_trace_stats(
    project: ProjectPath,
    service: ServiceDep,
    filter: Filter = None,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
) -> dict[str, Any]:
    """Return counts, error rate, latency percentiles, tokens and cost of the traces."""
    return service.trace_stats([project], filter, start_ns, end_ns).to_dict()


@by_project.get(
    "/traces/rollup", response_model=Rollup, responses=errors(400, 404), **requires(Permission.READ)
)
def project_trace_rollup(
    project: ProjectPath,
    group_by: GroupBy,
    service: ServiceDep,
    filter: Filter = None,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
    max_results: SpanResults = 1000,
) -> dict[str, Any]:
    """Return the traces' totals per session, user, UTC day, model or prompt version."""
    rows = service.trace_rollup([project], group_by, filter, start_ns, end_ns, max_results)
    return {"rollup": [r.to_dict() for r in rows]}


@by_project.get(
    "/traces/{trace_id}",
    response_model=TraceSpans,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def project_trace(project: ProjectPath, trace_id: TraceIdPath, service: ServiceDep) -> Response:
    """Return every span of one of the project's traces, ordered by start time."""
    return _json({"spans": [s.to_dict() for s in service.get_trace(trace_id, project)]})


@by_project.get(
    "/traces/{trace_id}/spans/{span_id}",
    response_model=SpanOut,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def project_span(
    project: ProjectPath, trace_id: TraceIdPath, span_id: SpanIdPath, service: ServiceDep
) -> Response:
    """Return one span of one of the project's traces, with its attributes and events."""
    return _json(service.get_span(trace_id, span_id, project).to_dict())


# -- any projects ----------------------------------------------------------------------------
@any_project.get(
    "/spans", response_model=SpanPage, responses=errors(400, 404), **requires(Permission.READ)
)
def spans(
    service: ServiceDep,
    project_id: ProjectIds = None,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
    max_results: SpanResults = 1000,
    page_token: PageToken = None,
) -> Response:
    """Return the projects' spans in (start, trace id, span id) order, one page at a time."""
    return _spans_page(
        service.search_spans(project_id or [], start_ns, end_ns, max_results, page_token)
    )


@any_project.get(
    "/traces", response_model=TracePage, responses=errors(400, 404), **requires(Permission.READ)
)
def traces(
    service: ServiceDep,
    project_id: ProjectIds = None,
    filter: Filter = None,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
    order_by: OrderBy = None,
    max_results: TraceResults = 100,
    page_token: PageToken = None,
) -> Response:
    """Return the projects' traces matching ``filter``, newest first unless ordered."""
    return _traces_page(
        service.search_traces(
            project_id or [], filter, start_ns, end_ns, order_by, max_results, page_token
        )
    )


@any_project.get(
    "/traces/stats",
    response_model=TraceStatsOut,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def trace_stats(
    service: ServiceDep,
    project_id: ProjectIds = None,
    filter: Filter = None,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
) -> dict[str, Any]:
    """Return counts, error rate, latency percentiles, tokens and cost of the traces."""
    return service.trace_stats(project_id or [], filter, start_ns, end_ns).to_dict()


@any_project.get(
    "/traces/rollup", response_model=Rollup, responses=errors(400, 404), **requires(Permission.READ)
)
def trace_rollup(
    group_by: GroupBy,
    service: ServiceDep,
    project_id: ProjectIds = None,
    filter: Filter = None,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
    max_results: SpanResults = 1000,
) -> dict[str, Any]:
    """Return the traces' totals per session, user, UTC day, model or prompt version."""
    rows = service.trace_rollup(project_id or [], group_by, filter, start_ns, end_ns, max_results)
    return {"rollup": [r.to_dict() for r in rows]}


@any_project.get(
    "/traces/{trace_id}",
    response_model=TraceSpans,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def trace(trace_id: TraceIdPath, service: ServiceDep) -> Response:
    """Return every span of a trace (of whichever project holds it), ordered by start."""
    return _json({"spans": [s.to_dict() for s in service.get_trace(trace_id)]})
