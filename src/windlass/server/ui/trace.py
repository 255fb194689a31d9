"""``/projects/{project}/traces/{trace_id}`` and ``/projects/{project}/sessions/{session}``.

The trace page embeds the trace's span skeleton (ids, parents, names, kinds, times,
models, tokens, cost: no attributes) as a JSON data block; ``static/traces.js`` draws it
as a tree with a waterfall beside it, in virtualised rows (only the rows in view are in
the DOM, so 5,000 spans open at once), and loads a clicked span's attributes, events and
messages from ``GET /api/v1/projects/{project}/traces/{trace_id}/spans/{span_id}``. With
JavaScript off the page lists the first spans as a table.

The session page shows a session's traces in order as one conversation: each trace's
input messages and output, and the tool calls between them, as chat bubbles
(:mod:`windlass.server.ui.chat`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from windlass.access.policy import Permission
from windlass.entities import Span, TraceSummary
from windlass.server.ui.chat import Turn, turn_of
from windlass.server.ui.render import render
from windlass.server.ui.session import Viewer, serve_page
from windlass.server.ui.traces import format_cost, format_ms, quoted, tracing_of

router = APIRouter(include_in_schema=False)
#: Spans the page lists as a table for readers without JavaScript.
NOSCRIPT_SPANS = 300
#: Traces of a session shown per page, and the spans read per trace for its turn.
SESSION_TRACES = 50
TRACE_ID = Path(pattern="^[0-9a-fA-F]{32}$")


def skeleton(spans: list[Span]) -> dict[str, Any]:
    """Return the trace's spans as the columns ``traces.js`` draws (parents as row indexes).

    Times are milliseconds from the trace's first start. A span whose parent is not in the
    trace is a root.
    """
    start = min(s.start_time_ns for s in spans)
    index = {s.span_id: i for i, s in enumerate(spans)}
    return {
        "id": [s.span_id for s in spans],
        "parent": [index.get(s.parent_span_id or "", -1) for s in spans],
        "name": [s.name for s in spans],
        "kind": [str(s.kind) for s in spans],
        "status": [str(s.status) for s in spans],
        "start": [round((s.start_time_ns - start) / 1e6, 3) for s in spans],
        "duration": [round(s.duration_ns / 1e6, 3) for s in spans],
        "model": [s.model or "" for s in spans],
        "tokens": [(s.input_tokens or 0) + (s.output_tokens or 0) for s in spans],
        "cost": [s.cost for s in spans],
    }


def summary_of(trace_id: str, spans: list[Span]) -> dict[str, Any]:
    """Return the header figures of a trace: name, duration, tokens, cost, session, user."""
    roots = [s for s in spans if s.parent_span_id is None] or spans
    start = min(s.start_time_ns for s in spans)
    end = max(s.end_time_ns for s in spans)
    costs = [s.cost for s in spans if s.cost is not None]
    prompts = sorted(
        {f"{s.prompt_name}/{s.prompt_version}" for s in spans if s.prompt_name is not None}
    )
    return {
        "trace_id": trace_id,
        "name": roots[0].name,
        "duration": format_ms(max(0, end - start)),
        "spans": len(spans),
        "status": "error" if any(s.status.value == "error" for s in spans) else roots[0].status,
        "input_tokens": sum(s.input_tokens or 0 for s in spans),
        "output_tokens": sum(s.output_tokens or 0 for s in spans),
        "cost": format_cost(sum(costs)) if costs else "—",
        "session_id": next((s.session_id for s in spans if s.session_id), None),
        "user_id": next((s.user_id for s in spans if s.user_id), None),
        "models": sorted({s.model for s in spans if s.model}),
        "prompts": prompts,
    }


@router.get("/projects/{project}/traces/{trace_id}")
async def trace_page(
    request: Request,
    project: str,
    trace_id: Annotated[str, TRACE_ID],
    span: Annotated[str | None, Query(pattern="^[0-9a-fA-F]{16}$")] = None,
) -> Response:
    """Return a trace as a waterfall and tree (``span``: the span whose details are open)."""

    def build(viewer: Viewer) -> Response:
        found = viewer.tracking.get_project(project)
        spans = tracing_of(viewer).get_trace(trace_id, found.id)
        return render(
            viewer,
            "trace.html",
            {
                "project": found,
                "area": "traces",
                "trace": summary_of(trace_id.lower(), spans),
                "skeleton": skeleton(spans),
                "selected": (span or "").lower(),
                "listed": spans[:NOSCRIPT_SPANS],
                "format_ms": format_ms,
                "format_cost": format_cost,
            },
        )

    return await serve_page(request, Permission.READ, build)


@router.get("/projects/{project}/sessions/{session_id:path}")
async def session_page(
    request: Request,
    project: str,
    session_id: Annotated[str, Path(min_length=1, max_length=1000)],
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    """Return a session's traces in order as a conversation (keyset pages of 50 traces)."""

    def build(viewer: Viewer) -> Response:
        found = viewer.tracking.get_project(project)
        tracing = tracing_of(viewer)
        within = f"session_id = {quoted(session_id)}"
        page = tracing.search_traces(
            [found.id],
            within,
            None,
            None,
            ["start_time_ns ASC"],
            SESSION_TRACES,
            page_token,
        )
        turns: list[tuple[TraceSummary, Turn]] = []
        for summary in page.items:
            spans = tracing.get_trace(summary.trace_id, found.id)
            turns.append((summary, turn_of(spans)))
        return render(
            viewer,
            "session.html",
            {
                "project": found,
                "area": "traces",
                "session_id": session_id,
                "list_filter": within,
                "turns": turns,
                "next_page_token": page.next_page_token,
                "first_page": page_token is None,
                "format_ms": format_ms,
                "format_cost": format_cost,
            },
        )

    return await serve_page(request, Permission.READ, build)
