"""``/projects/{project}/traces`` and ``/projects/{project}/traces/costs``: traces list, costs.

The list is server-side like the runs table: one keyset page of the store's trace search
(50 traces by default, ``page_token`` for the next), filtered with the trace filter
language (a parse error is shown with a caret under its position), sorted by a clicked
column. Each row shows latency, cost, tokens, status, models, session, user and the prompt
versions the trace's spans named (found with the prompt roll-up of the page's traces).
The costs page draws the project's tokens and cost by model, prompt version and day from
the tracing domain's statistics and roll-ups (``static/traces.js`` with uPlot; the same
figures are tables underneath, readable with JavaScript off).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from windlass.access.policy import Permission
from windlass.entities import TraceRollup, TraceSummary
from windlass.exceptions import InvalidFilter, LimitExceeded
from windlass.genai.tracing.service import TraceService
from windlass.server.ui.render import render
from windlass.server.ui.session import Viewer, serve_page

router = APIRouter(include_in_schema=False)
#: Traces per page unless the query string asks for another size (at most MAX_PAGE_SIZE).
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: Trace ids per filter when the page's prompt versions are looked up.
PROMPT_LOOKUP_CHUNK = 250
#: Prompt versions looked up per page (a page naming more shows the first ones).
MAX_PAGE_PROMPTS = 20
#: Rows of each breakdown on the costs page.
MAX_BREAKDOWN = 50
#: The columns the list sorts by, and the trace field each orders.
SORTS = {
    "start": "start_time_ns",
    "latency": "duration_ms",
    "cost": "cost",
    "tokens": "total_tokens",
    "spans": "span_count",
}


def tracing_of(viewer: Viewer) -> TraceService:
    """Return the tracing service acting as the viewer."""
    return viewer.services.traces.acting_as(viewer.principal)


def filter_problem(error: InvalidFilter | LimitExceeded, text: str) -> dict[str, Any]:
    """Return what the page shows of a filter error: its message, text and caret position."""
    return {
        "message": error.message.split("\n", 1)[0],
        "text": str(error.details.get("filter", text)),
        "position": int(error.details.get("position", 0)),
    }


def quoted(text: str) -> str:
    """Return ``text`` as a string literal of the filter language (a quote is doubled)."""
    return "'" + text.replace("'", "''") + "'"


def page_prompts(
    tracing: TraceService, project: str, traces: list[TraceSummary]
) -> dict[str, list[str]]:
    """Return the prompt versions (``name/version``) each trace of a page named, by trace id.

    Two domain calls per chunk of the page: the prompt roll-up of its traces, then, per
    prompt version found (at most :data:`MAX_PAGE_PROMPTS`), which of them named it.
    """
    found: dict[str, list[str]] = {}
    ids = [t.trace_id for t in traces]
    for start in range(0, len(ids), PROMPT_LOOKUP_CHUNK):
        chunk = ids[start : start + PROMPT_LOOKUP_CHUNK]
        within = "trace_id in (" + ", ".join(quoted(i) for i in chunk) + ")"
        rollup = tracing.trace_rollup([project], "prompt", within, max_results=MAX_PAGE_PROMPTS)
        for row in rollup:
            name, _, version = row.key.removeprefix("prompts:/").rpartition("/")
            if not name:
                name, version = version, ""
            clause = f"{within} and prompt_name = {quoted(name)}"
            if version:
                clause += f" and prompt_version = {int(version)}"
            label = f"{name}/{version}" if version else name
            named = tracing.search_traces([project], clause, max_results=len(chunk))
            for trace in named.items:
                found.setdefault(trace.trace_id, []).append(label)
    return found


def format_cost(cost: float | None) -> str:
    """Return a cost in US dollars as text (``—`` when unknown)."""
    if cost is None:
        return "—"
    if 0 < cost < 0.0001:  # a cheap call is not free: show two significant digits
        if cost < 1e-12:
            return "< $0.000000000001"
        digits = 1 - math.floor(math.log10(cost))
        return f"${cost:.{digits}f}".rstrip("0")
    return f"${cost:.4f}" if cost < 100 else f"${cost:,.2f}"


def format_ms(ns: int) -> str:
    """Return a duration in nanoseconds as milliseconds or seconds text."""
    ms = ns / 1e6
    if ms < 1000:
        return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"
    return f"{ms / 1000:.2f} s"


@router.get("/projects/{project}/traces")
async def traces_page(
    request: Request,
    project: str,
    filter: Annotated[str, Query(max_length=20_000)] = "",
    sort: Annotated[str, Query(pattern="^(start|latency|cost|tokens|spans)$")] = "start",
    dir: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
    selected: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Return the traces list of a project (filtered, sorted, keyset-paged)."""

    def build(viewer: Viewer) -> Response:
        found = viewer.tracking.get_project(project)
        tracing = tracing_of(viewer)
        problem: dict[str, Any] | None = None
        traces: list[TraceSummary] = []
        prompts: dict[str, list[str]] = {}
        next_token = None
        order = [f"{SORTS[sort]} {dir.upper()}"]
        try:
            page = tracing.search_traces(
                [found.id], filter.strip() or None, None, None, order, size, page_token
            )
            traces, next_token = page.items, page.next_page_token
            prompts = page_prompts(tracing, found.id, traces)
        except (InvalidFilter, LimitExceeded) as error:
            problem = filter_problem(error, filter)
        state: dict[str, Any] = {
            "filter": filter,
            "sort": sort,
            "dir": dir,
            "size": size if size != PAGE_SIZE else None,
        }
        return render(
            viewer,
            "traces.html",
            {
                "project": found,
                "area": "traces",
                "traces": traces,
                "prompts": prompts,
                "state": state,
                "selected": selected,
                "problem": problem,
                "next_page_token": next_token,
                "first_page": page_token is None,
                "format_cost": format_cost,
                "format_ms": format_ms,
                "sorts": SORTS,
            },
        )

    return await serve_page(request, Permission.READ, build)


def chart_rows(rows: list[TraceRollup]) -> list[dict[str, Any]]:
    """Return roll-up rows as the chart data the costs page embeds."""
    return [
        {
            "key": r.key,
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
            "cost": r.cost,
            "traces": r.traces,
        }
        for r in rows
    ]


@router.get("/projects/{project}/traces/costs")
async def costs_page(
    request: Request,
    project: str,
    filter: Annotated[str, Query(max_length=20_000)] = "",
) -> Response:
    """Return a project's token and cost dashboard: by model, by prompt version, by day."""

    def build(viewer: Viewer) -> Response:
        found = viewer.tracking.get_project(project)
        tracing = tracing_of(viewer)
        problem: dict[str, Any] | None = None
        stats = None
        by_prompt: list[TraceRollup] = []
        text = filter.strip() or None
        try:
            stats = tracing.trace_stats([found.id], text)
            by_prompt = tracing.trace_rollup([found.id], "prompt", text, max_results=MAX_BREAKDOWN)
        except (InvalidFilter, LimitExceeded) as error:
            problem = filter_problem(error, filter)
        breakdowns = {
            "model": stats.by_model[:MAX_BREAKDOWN] if stats else [],
            "prompt": by_prompt,
            "day": stats.by_day if stats else [],
        }
        return render(
            viewer,
            "trace_costs.html",
            {
                "project": found,
                "area": "costs",
                "stats": stats,
                "breakdowns": breakdowns,
                "charts": {k: chart_rows(v) for k, v in breakdowns.items()},
                "state": {"filter": filter},
                "problem": problem,
                "format_cost": format_cost,
            },
        )

    return await serve_page(request, Permission.READ, build)
