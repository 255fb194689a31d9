"""The REST client's traces .

Spans go to ``POST /api/v1/projects/{project}/spans``; one trace comes from
``/api/v1/traces/{trace_id}`` (or the project's); searches, statistics, roll-ups and span
pages over any number of projects go to ``/api/v1/traces``, ``/traces/stats``,
``/traces/rollup`` and ``/api/v1/spans``, each project a repeated ``project_id`` query
parameter, so one page token pages across all of them as the store does. The server
answers through its traces domain: spans whose cost is unknown are priced there, and
``ingested_at`` is the server's time, not the one passed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from windlass.entities import (
    Page,
    Span,
    SpanIngestResult,
    TraceGrouping,
    TraceRollup,
    TraceStats,
    TraceSummary,
)
from windlass.exceptions import InvalidInput
from windlass.store.bulk import paused_gc
from windlass.store.rest.transport import RestTransport, segment
from windlass.store.traces import TraceStore


def _query(project_ids: list[str], **values: Any) -> dict[str, Any]:
    """Return query parameters: the projects (repeated) and the values that are set."""
    params: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
    params["project_id"] = list(project_ids)
    return params


def _not_json(spans: Sequence[Span]) -> InvalidInput:
    """Return the error naming the first span whose attributes, resource or events are not JSON."""
    for span in spans:
        try:
            orjson.dumps(span.to_dict())
        except orjson.JSONEncodeError as exc:
            return InvalidInput(
                f"span {span.trace_id}/{span.span_id} has attributes, resource or events "
                f"that are not JSON: {exc}",
                trace_id=span.trace_id,
                span_id=span.span_id,
            )
    return InvalidInput("spans are not JSON")


class RestTraceStore(TraceStore):
    """Spans and traces over the REST API."""

    def __init__(self, http: RestTransport) -> None:
        self._http = http

    def ingest_spans(
        self, project_id: str, spans: Sequence[Span], ingested_at: int
    ) -> SpanIngestResult:
        """Send spans to the server; those the project already holds come back as duplicates."""
        try:
            body = self._http.request(
                "POST",
                f"/api/v1/projects/{segment(project_id)}/spans",
                json={"spans": [span.to_dict() for span in spans]},
            )
        except orjson.JSONEncodeError:  # raised before anything was sent
            raise _not_json(spans) from None
        return SpanIngestResult.from_dict(body)

    def get_trace(self, trace_id: str, project_id: str | None = None) -> list[Span]:
        """Return every span of a trace, ordered by start time."""
        path = (
            f"/api/v1/traces/{segment(trace_id)}"
            if project_id is None
            else f"/api/v1/projects/{segment(project_id)}/traces/{segment(trace_id)}"
        )
        body = self._http.request("GET", path)
        with paused_gc():
            return [Span.from_dict(s) for s in body["spans"]]

    def get_span(self, trace_id: str, span_id: str, project_id: str) -> Span:
        """Return one span of a project's trace."""
        path = (
            f"/api/v1/projects/{segment(project_id)}/traces/{segment(trace_id)}"
            f"/spans/{segment(span_id)}"
        )
        return Span.from_dict(self._http.request("GET", path))

    def search_traces(
        self,
        project_ids: list[str],
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        order_by: list[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[TraceSummary]:
        """Return one page of the projects' traces matching ``filter``."""
        body = self._http.request(
            "GET",
            "/api/v1/traces",
            params=_query(
                project_ids,
                filter=filter,
                start_ns=start_ns,
                end_ns=end_ns,
                order_by=order_by or None,
                max_results=max_results,
                page_token=page_token or None,
            ),
        )
        with paused_gc():
            traces = [TraceSummary.from_dict(t) for t in body["traces"]]
        return Page(traces, body.get("next_page_token"))

    def trace_stats(
        self,
        project_ids: list[str],
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> TraceStats:
        """Return counts, error rate, latency percentiles, tokens and cost of the traces."""
        return TraceStats.from_dict(
            self._http.request(
                "GET",
                "/api/v1/traces/stats",
                params=_query(project_ids, filter=filter, start_ns=start_ns, end_ns=end_ns),
            )
        )

    def trace_rollup(
        self,
        project_ids: list[str],
        group_by: TraceGrouping,
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_results: int = 1000,
    ) -> list[TraceRollup]:
        """Return the traces' totals per session, user, UTC day, model or prompt version."""
        body = self._http.request(
            "GET",
            "/api/v1/traces/rollup",
            params=_query(
                project_ids,
                group_by=group_by,
                filter=filter,
                start_ns=start_ns,
                end_ns=end_ns,
                max_results=max_results,
            ),
        )
        return [TraceRollup.from_dict(r) for r in body["rollup"]]

    def search_spans(
        self,
        project_ids: list[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> Page[Span]:
        """Return one page of the projects' spans in (start, trace id, span id) order."""
        body = self._http.request(
            "GET",
            "/api/v1/spans",
            params=_query(
                project_ids,
                start_ns=start_ns,
                end_ns=end_ns,
                max_results=max_results,
                page_token=page_token or None,
            ),
        )
        with paused_gc():
            spans = [Span.from_dict(s) for s in body["spans"]]
        return Page(spans, body.get("next_page_token"))
