"""The traces domain: ingest spans (priced, filed under a project), query and export them.

Both doors lead here: windlass's own SDK exporter hands over converted spans, and the
server's OTLP route hands over request bodies. Ingest prices every model call whose cost
is unknown from the token counts and the price table, files spans under their project
(the ``x-windlass-project`` header, else the ``windlass.project`` resource or span
attribute, else the default project), and stores each project's spans in one transaction.
A span id the project already holds is reported back, never silently dropped. Every
span is first brought within the stored bounds
(:func:`~windlass.genai.tracing.span_bounds.bound_span`); the spans that had to be
are counted as ``adjusted``.

Every public call first asks the service's :class:`~windlass.access.gate.Access`: ingest
needs write in each project it files spans under (and a server admin to create a project
on first use), queries need read in each project named. A trace addressed by id alone is
checked in its project, and a principal without any role there gets the very
``TraceNotFound`` a missing trace gets. Each ingest call is audited once per project.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from windlass import config
from windlass.access import actions
from windlass.access.bound import Bound, require_project_creator
from windlass.access.gate import Access
from windlass.access.policy import Permission
from windlass.entities import (
    Page,
    Span,
    SpanIngestResult,
    SpanKind,
    TraceGrouping,
    TraceRollup,
    TraceStats,
    TraceSummary,
)
from windlass.exceptions import InvalidInput, ProjectNotFound, TraceNotFound
from windlass.extras import require
from windlass.genai.llm.pricing import PriceTable, TokenUsage, default_price_table
from windlass.genai.tracing import attributes as attr
from windlass.genai.tracing.span_bounds import bound_span
from windlass.ids import new_id, now_ms
from windlass.principal import Principal, local_principal
from windlass.store.metadata import MetadataStore
from windlass.tracking import validation

#: Kinds whose token counts are priced (others carry no model call of their own).
PRICED_KINDS = frozenset({SpanKind.LLM, SpanKind.EMBEDDING, SpanKind.UNKNOWN})
#: Columns of an exported span table, in order.
EXPORT_COLUMNS = (
    "project_id",
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "start_time_ns",
    "end_time_ns",
    "duration_ns",
    "status",
    "status_message",
    "model",
    "provider",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
    "cost",
    "session_id",
    "user_id",
    "run_id",
    "prompt_name",
    "prompt_version",
    "input",
    "output",
    "attributes",
    "resource",
    "events",
    "scope",
)


@dataclass(frozen=True)
class IngestReport:
    """What one ingest call did: spans stored, duplicates refused, per project.

    ``adjusted_by_project`` counts the spans stored with clamped or truncated values
    (each names them in its ``windlass.adjusted`` attribute).
    """

    accepted: int
    duplicates: list[tuple[str, str]]
    projects: dict[str, int]
    duplicates_by_project: dict[str, int] = dataclasses.field(default_factory=dict)
    adjusted_by_project: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def adjusted(self) -> int:
        """Return how many stored spans had values clamped or truncated."""
        return sum(self.adjusted_by_project.values())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "accepted": self.accepted,
            "duplicates": [{"trace_id": t, "span_id": s} for t, s in self.duplicates],
            "projects": dict(self.projects),
            "duplicates_by_project": dict(self.duplicates_by_project),
            "adjusted_by_project": dict(self.adjusted_by_project),
        }


def price_span(span: Span, prices: PriceTable) -> Span:
    """Return ``span`` with its cost set from its token counts, when it can be priced.

    A span that already carries a cost, has no model or no token counts keeps what it has;
    an unknown model leaves the cost ``None`` (the price table warns once), never 0.
    Counts that contradict each other (more cached than input tokens) are not priced.
    """
    if span.cost is not None or span.model is None or span.input_tokens is None:
        return span
    if span.kind not in PRICED_KINDS:
        return span
    try:
        usage = TokenUsage(
            span.input_tokens,
            span.output_tokens or 0,
            span.cached_input_tokens,
            span.reasoning_tokens,
        )
    except InvalidInput:
        return span
    cost = prices.cost(span.provider, span.model, usage)
    return span if cost is None else dataclasses.replace(span, cost=cost)


def _bounded(spans: Sequence[Span], prices: PriceTable) -> tuple[list[Span], set[tuple[str, str]]]:
    """Return the spans bounded and priced, and the keys of those that had to be bounded."""
    out: list[Span] = []
    adjusted: set[tuple[str, str]] = set()
    for span in spans:
        bounded = bound_span(span)
        if bounded is not span:
            adjusted.add((span.trace_id, span.span_id))
        out.append(price_span(bounded, prices))
    return out, adjusted


def _stored_adjusted(adjusted: set[tuple[str, str]], result: SpanIngestResult) -> int:
    """Return how many adjusted spans a store call stored (duplicates were not)."""
    return len(adjusted - set(result.duplicates)) if adjusted else 0


def span_project(span: Span, header: str | None) -> str:
    """Return the project a span is filed under: header, then resource, span, default."""
    if header:
        return header
    named = span.resource.get(attr.PROJECT) or span.attributes.get(attr.PROJECT)
    if isinstance(named, str) and named:
        return named
    project: str = config.settings.project
    return project


class TraceService(Bound):
    """Ingest, query and export traces over one metadata store, as one principal."""

    def __init__(
        self,
        store: MetadataStore,
        prices: PriceTable | None = None,
        *,
        principal: Principal | None = None,
        access: Access | None = None,
    ) -> None:
        self.store = store
        self._prices = prices
        self._project_ids: dict[str, str] = {}
        self._bind(access, principal if principal is not None else local_principal())

    @property
    def prices(self) -> PriceTable:
        """Return the price table (the shipped one plus ``WINDLASS_PRICE_TABLE``)."""
        # The shipped table is cached; re-reading the setting each time lets a changed
        # WINDLASS_PRICE_TABLE (or an edited file) apply without a restart.
        return self._prices if self._prices is not None else default_price_table()

    def project_id(self, name: str, *, principal: Principal | None = None) -> str:
        """Return the id of project ``name``, creating the project on first use.

        With auth on, the caller needs write in it, or a server admin to create it.
        """
        return self._writable_project(self._who(principal), name)

    def _writable_project(self, who: Principal, name: str) -> str:
        """Return the id of project ``name`` once ``who`` may write there (created if new)."""
        cached = self._project_ids.get(name)
        if cached is None:
            self._access.require(who, Permission.AUTHENTICATED)
            try:  # an existing project may be named by its id too
                project = self.store.runs.get_project(name)
            except ProjectNotFound:
                require_project_creator(self._access, who, name)
                chosen = new_id()
                with self.store.transaction():
                    project = self.store.runs.get_or_create_project(
                        validation.project_name(name), chosen, now_ms()
                    )
                    if project.id == chosen:
                        self._access.record(
                            who,
                            actions.PROJECT_CREATE,
                            f"projects:/{project.name}",
                            project_id=project.id,
                            after=project.to_dict(),
                        )
            cached = self._project_ids[name] = project.id
        self._access.require(who, Permission.WRITE, cached)
        return cached

    def _project_ids_of(self, projects: Sequence[str], who: Principal) -> list[str]:
        """Return the ids of the named projects once ``who`` may read each."""
        self._access.require(who, Permission.AUTHENTICATED)
        ids = [self.store.runs.get_project(p).id for p in projects]
        for project_id in ids:
            self._access.require(who, Permission.READ, project_id)
        return ids

    def _audit_ingest(
        self, who: Principal, name: str, project_id: str, accepted: int, duplicates: int
    ) -> None:
        self._access.record(
            who,
            actions.TRACE_INGEST,
            f"traces:/{name}",
            project_id=project_id,
            after={"accepted": accepted, "duplicates": duplicates},
        )

    def ingest(
        self,
        spans: Sequence[Span],
        *,
        project: str | None = None,
        principal: Principal | None = None,
    ) -> IngestReport:
        """Price and store ``spans``, each under its project (see :func:`span_project`).

        Every project is checked (write; a server admin to create one) before any span is
        stored; one audit record per project.
        """
        who = self._who(principal)
        groups: dict[str, list[Span]] = {}
        prices = self.prices
        for span in spans:
            groups.setdefault(span_project(span, project), []).append(span)
        project_ids = {name: self._writable_project(who, name) for name in groups}
        accepted = 0
        duplicates: list[tuple[str, str]] = []
        counts: dict[str, int] = {}
        repeated: dict[str, int] = {}
        adjusted: dict[str, int] = {}
        for name, raw in groups.items():
            with warnings.catch_warnings():
                # One server serves many callers: an unknown model is logged once per
                # table, not raised as an error by a caller's warning filter.
                warnings.simplefilter("default")
                group, bounded = _bounded(raw, prices)
            with self.store.transaction():
                result: SpanIngestResult = self.store.traces.ingest_spans(
                    project_ids[name], group, now_ms()
                )
                self._audit_ingest(
                    who, name, project_ids[name], result.accepted, len(result.duplicates)
                )
            accepted += result.accepted
            duplicates += result.duplicates
            counts[name] = result.accepted
            repeated[name] = len(result.duplicates)
            adjusted[name] = _stored_adjusted(bounded, result)
        return IngestReport(accepted, duplicates, counts, repeated, adjusted)

    def ingest_into(
        self, project: str, spans: Sequence[Span], *, principal: Principal | None = None
    ) -> SpanIngestResult:
        """Price and store ``spans`` in one existing project (name or id), as they are."""
        who = self._who(principal)
        self._access.require(who, Permission.AUTHENTICATED)
        found = self.store.runs.get_project(project)
        project_id = found.id
        self._access.require(who, Permission.WRITE, project_id)
        prices = self.prices
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            priced, bounded = _bounded(spans, prices)
        with self.store.transaction():
            result = self.store.traces.ingest_spans(project_id, priced, now_ms())
            self._audit_ingest(who, found.name, project_id, result.accepted, len(result.duplicates))
        return dataclasses.replace(result, adjusted=_stored_adjusted(bounded, result))

    def ingest_otlp(
        self,
        body: bytes,
        content_type: str,
        *,
        project: str | None = None,
        principal: Principal | None = None,
    ) -> IngestReport:
        """Decode an OTLP/HTTP export request (protobuf or JSON) and ingest its spans."""
        from windlass.genai.tracing.otlp import decode_traces

        who = self._who(principal)
        self._access.require(who, Permission.AUTHENTICATED)
        return self.ingest(decode_traces(body, content_type), project=project, principal=who)

    def get_trace(
        self, trace_id: str, project: str | None = None, *, principal: Principal | None = None
    ) -> list[Span]:
        """Return the spans of one trace, ordered by start (TraceNotFound if unknown).

        Without ``project``, with auth on, a caller without any role in the trace's project
        gets the TraceNotFound of a missing trace.
        """
        who = self._who(principal)
        trace_id = validation_trace_id(trace_id)
        if project is not None:
            project_id = self._project_ids_of([project], who)[0]
            return self.store.traces.get_trace(trace_id, project_id)
        if not self._access.enabled:
            return self.store.traces.get_trace(trace_id, None)
        self._access.require(who, Permission.AUTHENTICATED)
        if who.server_admin:
            return self.store.traces.get_trace(trace_id, None)
        # Look only where the caller may read: elsewhere the trace is as missing as a
        # trace no project holds, with the very same error.
        for project_id, _role in who.roles:
            if who.role_in(project_id) is None:
                continue
            try:
                return self.store.traces.get_trace(trace_id, project_id)
            except (TraceNotFound, ProjectNotFound):
                continue
        raise missing_trace(trace_id)

    def get_span(
        self,
        trace_id: str,
        span_id: str,
        project: str,
        *,
        principal: Principal | None = None,
    ) -> Span:
        """Return one span of a project's trace, or raise TraceNotFound naming it."""
        project_id = self._project_ids_of([project], self._who(principal))[0]
        wanted = span_id.strip().lower()
        if len(wanted) != 16 or any(c not in "0123456789abcdef" for c in wanted):
            raise InvalidInput(f"span id {span_id!r} is not 16 hex characters", field="span_id")
        return self.store.traces.get_span(validation_trace_id(trace_id), wanted, project_id)

    def search_traces(
        self,
        projects: Sequence[str],
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        order_by: list[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> Page[TraceSummary]:
        """Return one page of traces matching ``filter`` in the projects, newest first."""
        return self.store.traces.search_traces(
            self._project_ids_of(projects, self._who(principal)),
            filter,
            start_ns,
            end_ns,
            order_by,
            max_results,
            page_token,
        )

    def trace_stats(
        self,
        projects: Sequence[str],
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        *,
        principal: Principal | None = None,
    ) -> TraceStats:
        """Return counts, error rate, latency percentiles, tokens and cost of the traces."""
        return self.store.traces.trace_stats(
            self._project_ids_of(projects, self._who(principal)), filter, start_ns, end_ns
        )

    def trace_rollup(
        self,
        projects: Sequence[str],
        group_by: TraceGrouping,
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_results: int = 1000,
        *,
        principal: Principal | None = None,
    ) -> list[TraceRollup]:
        """Return tokens and cost per session, user, day, model or prompt version."""
        return self.store.traces.trace_rollup(
            self._project_ids_of(projects, self._who(principal)),
            group_by,
            filter,
            start_ns,
            end_ns,
            max_results,
        )

    def search_spans(
        self,
        projects: Sequence[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> Page[Span]:
        """Return one page of the projects' spans in (start, trace id, span id) order."""
        return self.store.traces.search_spans(
            self._project_ids_of(projects, self._who(principal)),
            start_ns,
            end_ns,
            max_results,
            page_token,
        )

    def iter_spans(
        self,
        projects: Sequence[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
        page_size: int = 5000,
        *,
        principal: Principal | None = None,
    ) -> Iterator[Span]:
        """Yield every span of the projects in start order, one store page at a time."""
        return self._spans(
            self._project_ids_of(projects, self._who(principal)), start_ns, end_ns, page_size
        )

    def _spans(
        self, ids: list[str], start_ns: int | None, end_ns: int | None, page_size: int
    ) -> Iterator[Span]:
        token: str | None = None
        while True:
            page = self.store.traces.search_spans(ids, start_ns, end_ns, page_size, token)
            yield from page.items
            token = page.next_page_token
            if not token:
                return

    def export_parquet(
        self,
        projects: Sequence[str],
        path: str | Path,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        on_rows: Callable[[int], None] | None = None,
        principal: Principal | None = None,
    ) -> int:
        """Write the projects' spans to a Parquet file (streamed); return the span count.

        ``attributes``, ``resource`` and ``events`` are JSON text, so DuckDB or a warehouse
        can read them with its JSON functions. The file appears only when complete.
        """
        import os

        import orjson

        ids = self._project_ids_of(projects, self._who(principal))
        pa = require("pyarrow", extra="ml", feature="exporting traces to Parquet")
        pq = require("pyarrow.parquet", extra="ml", feature="exporting traces to Parquet")
        target = Path(path)
        partial = target.with_name(f".{target.name}.{new_id()}.partial")
        schema = _export_schema()
        written = 0
        rows: list[dict[str, Any]] = []
        try:
            with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
                for project_id in ids:
                    for span in self._spans([project_id], start_ns, end_ns, 5000):
                        rows.append(_export_row(project_id, span, orjson.dumps))
                        if len(rows) >= 5000:
                            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                            written += len(rows)
                            rows = []
                            if on_rows is not None:
                                on_rows(written)
                if rows or not written:
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                    written += len(rows)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return written


def missing_trace(trace_id: str) -> TraceNotFound:
    """Return the error of a trace id no project holds (what the store raises, word for word)."""
    return TraceNotFound(f"trace {trace_id!r} does not exist", trace_id=trace_id)


def validation_trace_id(trace_id: str) -> str:
    """Return a trace id lower-cased, or raise InvalidInput if it is not 32 hex characters."""
    value = trace_id.strip().lower()
    if len(value) != 32 or any(c not in "0123456789abcdef" for c in value):
        raise InvalidInput(f"trace id {trace_id!r} is not 32 hex characters", field="trace_id")
    return value


def _export_schema() -> Any:
    import pyarrow as pa

    text, int64 = pa.string(), pa.int64()
    types = {
        "start_time_ns": int64,
        "end_time_ns": int64,
        "duration_ns": int64,
        "input_tokens": int64,
        "output_tokens": int64,
        "cached_input_tokens": int64,
        "reasoning_tokens": int64,
        "prompt_version": int64,
        "cost": pa.float64(),
    }
    return pa.schema([(name, types.get(name, text)) for name in EXPORT_COLUMNS])


def _export_row(project_id: str, span: Span, dumps: Callable[[Any], bytes]) -> dict[str, Any]:
    row = span.to_dict()
    row["project_id"] = project_id
    row["duration_ns"] = span.duration_ns
    row["attributes"] = dumps(span.attributes).decode()
    row["resource"] = dumps(span.resource).decode()
    row["events"] = dumps([e.to_dict() for e in span.events]).decode()
    return row
