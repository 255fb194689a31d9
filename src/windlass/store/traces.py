"""The traces store interface: spans, trace rows, trace search, statistics and roll-ups.

The SQL store (:mod:`windlass.store.sql.traces`) and the REST client
(:mod:`windlass.store.rest.traces`) implement it alike; the contract suite
``tests/store/test_traces_contract.py`` holds both to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from windlass.entities import (
    Page,
    Span,
    SpanIngestResult,
    TraceGrouping,
    TraceRollup,
    TraceStats,
    TraceSummary,
)

#: The largest page of traces one search returns.
MAX_TRACE_RESULTS = 1000
#: The largest page of spans one export call returns (and the most groups of a roll-up).
MAX_SPAN_RESULTS = 10_000


class TraceStore(ABC):
    """Spans, trace rows, trace search, statistics and roll-ups."""

    @abstractmethod
    def ingest_spans(
        self, project_id: str, spans: Sequence[Span], ingested_at: int
    ) -> SpanIngestResult:
        """Store new spans and update their traces' rows, all in one transaction.

        A span whose ``(trace_id, span_id)`` the project already holds (or that repeats in
        the batch) is not stored again and is listed in the result's ``duplicates``, so a
        retried batch is safe. Concurrent ingests of one trace leave its row correct.
        ``ingested_at`` is in milliseconds. An unknown project raises ProjectNotFound; a
        span that cannot be stored (malformed ids, attributes that are not JSON) raises
        InvalidInput and nothing of the batch is stored.
        """

    @abstractmethod
    def get_trace(self, trace_id: str, project_id: str | None = None) -> list[Span]:
        """Return every span of a trace, ordered by start time, or raise TraceNotFound."""

    @abstractmethod
    def get_span(self, trace_id: str, span_id: str, project_id: str) -> Span:
        """Return one span of a project's trace, or raise TraceNotFound naming the span.

        An unknown project raises ProjectNotFound.
        """

    @abstractmethod
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
        """Return traces matching a filter, newest first unless ordered, keyset-paged.

        ``start_ns <= trace start < end_ns`` when given. The filter language is the one of
        runs (:mod:`windlass.store.filters`) over trace fields; see
        :mod:`windlass.store.sql.trace_search` for the fields. ``max_results`` is 1..1000.
        """

    @abstractmethod
    def trace_stats(
        self,
        project_ids: list[str],
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> TraceStats:
        """Return counts, error rate, latency percentiles, tokens and cost of the traces."""

    @abstractmethod
    def trace_rollup(
        self,
        project_ids: list[str],
        group_by: TraceGrouping,
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_results: int = 1000,
    ) -> list[TraceRollup]:
        """Return the traces' totals per session, user, UTC day, model or prompt version.

        Days come oldest first; other keys by number of traces (then key). Traces without
        the key (no session, no model...) are left out. ``max_results`` is 1..10000.
        """

    @abstractmethod
    def search_spans(
        self,
        project_ids: list[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> Page[Span]:
        """Return spans in (start, trace id, span id) order, keyset-paged (for export).

        ``start_ns <= span start < end_ns`` when given. ``max_results`` is 1..10000.
        """
