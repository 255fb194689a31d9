"""Trace routes: ingest spans, search traces, statistics, roll-ups, one trace, span export.

Two families over the same traces domain (:class:`~windlass.genai.tracing.service.TraceService`):

- ``/api/v1/projects/{project}/...``: one project, named by name or id;
- ``/api/v1/traces...`` and ``/api/v1/spans``: any number of projects, each named by a
  repeated ``project_id`` query parameter (a name or an id; none: no traces), and one
  trace by id whatever its project.

Every handler parses, makes one call to the traces domain and renders its answer. Times
are integer nanoseconds since the epoch; ``start_ns <= start < end_ns`` when given.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import Field

from windlass.entities import MAX_TIME_NS, Page, Project, Span, TraceGrouping, TraceSummary
from windlass.genai.tracing.service import TraceService
from windlass.server import deps
from windlass.server.errors import ERROR_RESPONSES
from windlass.server.metrics import TrackingServerMetrics
from windlass.server.schemas import PageToken
from windlass.server.trace_schemas import TRACE_ID_PATTERN, SpansIngest
from windlass.store.bulk import paused_gc
from windlass.store.traces import MAX_SPAN_RESULTS, MAX_TRACE_RESULTS

by_project = APIRouter(
    prefix="/api/v1/projects/{project}", tags=["traces"], responses=ERROR_RESPONSES
)
any_project = APIRouter(prefix="/api/v1", tags=["traces"], responses=ERROR_RESPONSES)

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
@by_project.post("/spans")
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


@by_project.get("/spans")
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


@by_project.get("/traces")
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


@by_project.get("/traces/stats")
def project_trace_stats(
    project: ProjectPath,
    service: ServiceDep,
    filter: Filter = None,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
) -> dict[str, Any]:
    """Return counts, error rate, latency percentiles, tokens and cost of the traces."""
    return service.trace_stats([project], filter, start_ns, end_ns).to_dict()


@by_project.get("/traces/rollup")
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


@by_project.get("/traces/{trace_id}")
def project_trace(project: ProjectPath, trace_id: TraceIdPath, service: ServiceDep) -> Response:
    """Return every span of one of the project's traces, ordered by start time."""
    return _json({"spans": [s.to_dict() for s in service.get_trace(trace_id, project)]})


# -- any projects ----------------------------------------------------------------------------
@any_project.get("/spans")
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


@any_project.get("/traces")
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


@any_project.get("/traces/stats")
def trace_stats(
    service: ServiceDep,
    project_id: ProjectIds = None,
    filter: Filter = None,
    start_ns: Nanos = None,
    end_ns: Nanos = None,
) -> dict[str, Any]:
    """Return counts, error rate, latency percentiles, tokens and cost of the traces."""
    return service.trace_stats(project_id or [], filter, start_ns, end_ns).to_dict()


@any_project.get("/traces/rollup")
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


@any_project.get("/traces/{trace_id}")
def trace(trace_id: TraceIdPath, service: ServiceDep) -> Response:
    """Return every span of a trace (of whichever project holds it), ordered by start."""
    return _json({"spans": [s.to_dict() for s in service.get_trace(trace_id)]})
