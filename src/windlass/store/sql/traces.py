"""The SQL trace store: spans and trace rows.

Ingest stores a batch of spans with one bulk INSERT and updates one row per trace
(``traces``) with one bulk upsert, in one transaction. The trace rows are pre-aggregated
per trace in Python and merged into the stored row by arithmetic on the inserted values
(``INSERT ... ON CONFLICT DO UPDATE``): counts and sums add, start and end take the
minimum and maximum, status takes the worst. On PostgreSQL the upsert waits for the row
lock of a concurrent ingest of the same trace and then adds to what that one committed,
so concurrent ingests compose; on SQLite every writer holds the database's write lock.

Trace filters and orderings (their fields and meaning) are compiled into SQL by
:mod:`windlass.store.sql.trace_search`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import operator
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Double,
    and_,
    case,
    func,
    select,
    tuple_,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError

from windlass.entities import (
    TRACE_GROUPINGS,
    Page,
    Span,
    SpanIngestResult,
    TraceGrouping,
    TraceRollup,
    TraceStats,
    TraceSummary,
)
from windlass.exceptions import InvalidInput, TraceNotFound
from windlass.store.bulk import paused_gc
from windlass.store.paging import check_max_results, decode_keyset, decode_token, encode_token
from windlass.store.sql import lookups
from windlass.store.sql import schema as s
from windlass.store.sql.database import Database
from windlass.store.sql.search import SortPlan
from windlass.store.sql.span_rows import (
    LLM,
    NS_PER_MS,
    SPAN_START,
    STATUSES,
    pg_span_insert,
    pg_trace_upsert,
    span_row,
    spans_from_rows,
    sqlite_span_insert,
    sqlite_trace_upsert,
    trace_rows,
)
from windlass.store.sql.trace_search import (
    TRACE_DURATION,
    compile_trace_filter,
    parse_trace_filter,
    trace_sort,
)
from windlass.store.traces import MAX_SPAN_RESULTS, MAX_TRACE_RESULTS, TraceStore

#: On SQLite, latency percentiles are computed in Python from the fetched durations of up
#: to this many traces (the same interpolation as PostgreSQL's percentile_cont); above it,
#: the few neighbouring durations each percentile needs are read with ORDER BY/OFFSET.
MAX_PERCENTILE_FETCH = 1_000_000

logger = logging.getLogger(__name__)

_t, _s = s.traces, s.spans
_NS_PER_DAY = 86_400 * 1_000_000_000
_QUANTILES = (0.5, 0.95, 0.99)

_SUMMARY_COLUMNS = (
    _t.c.trace_id,
    _t.c.project_id,
    _t.c.name,
    _t.c.start_ns,
    _t.c.end_ns,
    _t.c.status,
    _t.c.span_count,
    _t.c.session_id,
    _t.c.user_id,
    _t.c.input_tokens,
    _t.c.output_tokens,
    _t.c.cost,
    _t.c.unpriced_llm_spans,
    _t.c.models,
)


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile of sorted values, interpolated as percentile_cont does."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def _count_sum(column: Any, pg: bool) -> ColumnElement[Any]:
    """Return the sum of a token-count column that cannot overflow, whatever is stored.

    PostgreSQL sums bigints as numeric (exact, unbounded); SQLite's sum() raises on
    overflow, so its total() (a float, exact up to 2**53) is used there.
    """
    return func.sum(column) if pg else func.total(column)


def _day(day_number: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=int(day_number))).isoformat()


def _rollup(
    key: str,
    traces: Any,
    spans: Any,
    llm_calls: Any,
    input_tokens: Any,
    output_tokens: Any,
    cost: Any,
    unpriced: Any,
) -> TraceRollup:
    # PostgreSQL sums bigints as numeric (Decimal), SQLite's total() gives floats: convert
    # every figure. A sum of no known cost is NULL: unknown, never 0.
    return TraceRollup(
        key=key,
        traces=int(traces or 0),
        spans=int(spans or 0),
        llm_calls=int(llm_calls or 0),
        input_tokens=int(input_tokens or 0),
        output_tokens=int(output_tokens or 0),
        cost=None if cost is None else float(cost),
        unpriced_llm_spans=int(unpriced or 0),
    )


class SqlTraceStore(TraceStore):
    """Spans, trace rows, trace search, statistics and roll-ups over SQLAlchemy Core."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- ingest --------------------------------------------------------------------------
    def ingest_spans(
        self, project_id: str, spans: Sequence[Span], ingested_at: int
    ) -> SpanIngestResult:
        """Store new spans and merge them into their trace rows, in one transaction."""
        unique: dict[tuple[str, str], Span] = {}
        repeated = False
        for span in spans:
            key = (span.trace_id, span.span_id)
            if key in unique:
                repeated = True
            else:
                unique[key] = span
        with paused_gc():
            rows = [span_row(project_id, span, ingested_at) for span in unique.values()]
        try:
            with self._db.write() as conn:
                lookups.project_name(conn, project_id)
                stored = self._insert_spans(conn, project_id, unique, rows) if rows else set()
                fresh = (
                    [sp for key, sp in unique.items() if key not in stored]
                    if stored
                    else list(unique.values())
                )
                if fresh:
                    self._merge_traces(conn, trace_rows(project_id, fresh, ingested_at))
        except (DataError, OverflowError, orjson.JSONEncodeError) as exc:
            # A value the database cannot hold (an integer beyond 64 bits in an attribute,
            # a sum past a column's range). The driver's words name SQL and its internals:
            # they go to the log, the caller gets what it can act on.
            logger.warning("spans could not be stored in project %s: %s", project_id, exc)
            raise InvalidInput(
                "spans could not be stored: a value is outside the range the database can hold",
                project_id=project_id,
            ) from None
        duplicates: list[tuple[str, str]] = []
        if repeated or stored:
            first = set(unique) - stored
            for span in spans:
                key = (span.trace_id, span.span_id)
                if key in first:
                    first.discard(key)
                else:
                    duplicates.append(key)
        return SpanIngestResult(len(unique) - len(stored), duplicates)

    def _insert_spans(
        self,
        conn: Connection,
        project_id: str,
        unique: dict[tuple[str, str], Span],
        rows: list[tuple[Any, ...]],
    ) -> set[tuple[str, str]]:
        """Insert the rows of spans not stored yet; return the keys that already were."""
        if self._db.pg:
            # Rows go in key order, so two concurrent batches never wait for each other
            # crosswise on the unique key.
            rows.sort(key=operator.itemgetter(1, 2))
            inserted = conn.execute(pg_span_insert(), {"rows": orjson.dumps(rows).decode()})
            return set(unique) - {(t, sp) for t, sp in inserted}
        # SQLite: this transaction holds the write lock, so what is stored cannot change
        # between the look-up and the insert, which goes straight to the driver's
        # executemany (SQLAlchemy's per-row parameter processing would double its cost).
        trace_ids = sorted({t for t, _sp in unique})
        stored = {
            (t, sp)
            for t, sp in self._db.fetch(
                conn,
                select(_s.c.trace_id, _s.c.span_id).where(
                    _s.c.project_id == project_id, self._db.in_ids(_s.c.trace_id, trace_ids)
                ),
            )
            if (t, sp) in unique
        }
        if stored:
            rows = [r for r in rows if (r[1], r[2]) not in stored]
        if rows:
            conn.exec_driver_sql(sqlite_span_insert(), rows)
        return stored

    def _merge_traces(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Upsert trace rows, merging each into the stored one (rows sorted by trace id)."""
        if self._db.pg:
            conn.execute(pg_trace_upsert(), {"rows": orjson.dumps(rows).decode()})
        else:
            conn.exec_driver_sql(sqlite_trace_upsert(), rows)

    # -- reading spans -------------------------------------------------------------------
    def get_trace(self, trace_id: str, project_id: str | None = None) -> list[Span]:
        """Return every span of a trace ordered by start time (then span id)."""
        with self._db.read() as conn, paused_gc():
            if project_id is None:
                # Trace ids are 128 random bits; should two projects hold the same one,
                # the smallest project id is chosen.
                project_id = conn.execute(
                    select(func.min(_t.c.project_id)).where(_t.c.trace_id == trace_id)
                ).scalar()
            rows = (
                []
                if project_id is None
                else self._db.fetch(
                    conn,
                    select(_s)
                    .where(_s.c.project_id == project_id, _s.c.trace_id == trace_id)
                    .order_by(_s.c.start_ns, _s.c.span_id),
                )
            )
            if not rows and project_id is not None:
                lookups.project_name(conn, project_id)
            spans = spans_from_rows(rows)
        if not spans:
            where = "" if project_id is None else f" in project id {project_id!r}"
            raise TraceNotFound(f"trace {trace_id!r} does not exist{where}", trace_id=trace_id)
        return spans

    def get_span(self, trace_id: str, span_id: str, project_id: str) -> Span:
        """Return one span of a project's trace (TraceNotFound names a missing one)."""
        with self._db.read() as conn:
            rows = self._db.fetch(
                conn,
                select(_s).where(
                    _s.c.project_id == project_id,
                    _s.c.trace_id == trace_id,
                    _s.c.span_id == span_id,
                ),
            )
            if not rows:
                lookups.project_name(conn, project_id)
        spans = spans_from_rows(rows)
        if not spans:
            raise TraceNotFound(
                f"span {span_id!r} of trace {trace_id!r} does not exist in project id "
                f"{project_id!r}",
                trace_id=trace_id,
                span_id=span_id,
            )
        return spans[0]

    def search_spans(
        self,
        project_ids: list[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> Page[Span]:
        """Return spans in (start, trace id, span id, project id) order, keyset-paged."""
        check_max_results(max_results, MAX_SPAN_RESULTS)
        ids = self._known_projects(project_ids)
        order = (_s.c.start_ns, _s.c.trace_id, _s.c.span_id, _s.c.project_id)
        query = select(_s).where(_s.c.project_id.in_(ids)).order_by(*order).limit(max_results + 1)
        if start_ns is not None:
            query = query.where(_s.c.start_ns >= start_ns)
        if end_ns is not None:
            query = query.where(_s.c.start_ns < end_ns)
        if page_token:
            pos = decode_token(page_token, "spans", {"s": int, "t": str, "i": str, "p": str})
            # The first condition is implied by the second; it lets the index on
            # (project, start) begin at the page's start instead of the project's first.
            query = query.where(
                _s.c.start_ns >= pos["s"],
                tuple_(*order) > tuple_(pos["s"], pos["t"], pos["i"], pos["p"]),
            )
        with self._db.read() as conn, paused_gc():
            rows = self._db.fetch(conn, query) if ids else []
            items = spans_from_rows(rows[:max_results])
        token = None
        if len(rows) > max_results:
            last = rows[max_results - 1]
            token = encode_token(
                {"k": "spans", "s": last[SPAN_START], "t": last[1], "i": last[2], "p": last[0]}
            )
        return Page(items, token)

    def _known_projects(self, names_or_ids: list[str]) -> list[str]:
        """Return the ids of the projects named (none named: none); a stranger raises."""
        if not names_or_ids:
            return []
        with self._db.read() as conn:
            return lookups.project_ids(conn, names_or_ids)

    # -- searching traces ----------------------------------------------------------------
    def _trace_where(
        self, project_ids: list[str], filter: str | None, start_ns: int | None, end_ns: int | None
    ) -> ColumnElement[bool]:
        """Return the WHERE clause over ``traces``: projects, time range on start, filter."""
        where = compile_trace_filter(parse_trace_filter(filter), self._db.pg)
        ids = self._known_projects(project_ids)
        parts = [_t.c.project_id.in_(ids), where]
        if start_ns is not None:
            parts.append(_t.c.start_ns >= start_ns)
        if end_ns is not None:
            parts.append(_t.c.start_ns < end_ns)
        return and_(*parts)

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
        """Return traces matching ``filter``, newest first unless ordered, keyset-paged."""
        check_max_results(max_results, MAX_TRACE_RESULTS)
        exprs = trace_sort(order_by)
        where = self._trace_where(project_ids, filter, start_ns, end_ns)
        query = (
            select(*_SUMMARY_COLUMNS, *(e.label(f"_sort{i}") for i, (e, _asc) in enumerate(exprs)))
            .where(where)
            .order_by(*(e.asc() if asc else e.desc() for e, asc in exprs))
        )
        plan = SortPlan(query, exprs)
        kind = "traces:" + "|".join(order_by or [])
        if page_token:
            values = decode_keyset(page_token, kind, plan.value_types())
            query = query.where(plan.keyset_after(values))
            if not order_by and isinstance(values[0], int):
                # Implied by the keyset; lets the (project, start) index skip earlier pages.
                query = query.where(_t.c.start_ns <= values[0])
        with self._db.read() as conn:
            rows = self._db.fetch(conn, query.limit(max_results + 1))
        items = [
            TraceSummary(
                trace_id=trace_id,
                project_id=project_id,
                name=name,
                start_time_ns=start,
                end_time_ns=end,
                status=STATUSES[status],
                span_count=span_count,
                session_id=session_id,
                user_id=user_id,
                input_tokens=int(input_tokens),
                output_tokens=int(output_tokens),
                cost=cost,
                cost_complete=unpriced == 0,
                models=tuple(sorted(orjson.loads(models))),
            )
            for (
                trace_id,
                project_id,
                name,
                start,
                end,
                status,
                span_count,
                session_id,
                user_id,
                input_tokens,
                output_tokens,
                cost,
                unpriced,
                models,
                *_sort,
            ) in rows[:max_results]
        ]
        token = None
        if len(rows) > max_results:
            values = list(rows[max_results - 1][len(_SUMMARY_COLUMNS) :])
            token = encode_token({"k": kind, "v": values})
        return Page(items, token)

    # -- statistics ----------------------------------------------------------------------
    def trace_stats(
        self,
        project_ids: list[str],
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> TraceStats:
        """Return volume, errors, latency percentiles, tokens, cost and daily/model rows."""
        where = self._trace_where(project_ids, filter, start_ns, end_ns)
        figures: list[ColumnElement[Any]] = [
            func.count(),
            func.sum(case((_t.c.status == "error", 1), else_=0)),
            _count_sum(_t.c.input_tokens, self._db.pg),
            _count_sum(_t.c.output_tokens, self._db.pg),
            func.sum(_t.c.cost),
            func.sum(_t.c.unpriced_llm_spans),
            func.count(func.distinct(_t.c.session_id)),
            func.count(func.distinct(_t.c.user_id)),
            func.sum(_t.c.span_count),
        ]
        if self._db.pg:
            duration = sql_cast(TRACE_DURATION, Double)
            figures += [func.percentile_cont(q).within_group(duration) for q in _QUANTILES]
        with self._db.read() as conn:
            row = conn.execute(select(*figures).where(where)).one()
            count = int(row[0])
            if self._db.pg:
                quantiles = [None if v is None else float(v) / NS_PER_MS for v in row[9:]]
            else:
                quantiles = self._sqlite_quantiles(conn, where, count)
            by_model = self._span_rollup(conn, where, _s.c.model, MAX_SPAN_RESULTS, self._db.pg)
            by_day = self._trace_rollup(conn, where, "day", MAX_SPAN_RESULTS, self._db.pg)
        return TraceStats(
            count=count,
            error_count=int(row[1] or 0),
            p50_ms=quantiles[0],
            p95_ms=quantiles[1],
            p99_ms=quantiles[2],
            input_tokens=int(row[2] or 0),
            output_tokens=int(row[3] or 0),
            cost=None if row[4] is None else float(row[4]),
            unpriced_llm_spans=int(row[5] or 0),
            sessions=int(row[6]),
            users=int(row[7]),
            span_count=int(row[8] or 0),
            by_model=by_model,
            by_day=by_day,
        )

    @staticmethod
    def _sqlite_quantiles(
        conn: Connection, where: ColumnElement[bool], count: int
    ) -> list[float | None]:
        """Return the latency percentiles (ms) on SQLite, which has no percentile_cont."""
        if count == 0:
            return [None] * len(_QUANTILES)
        query = select(TRACE_DURATION).where(where)
        if count <= MAX_PERCENTILE_FETCH:
            durations = sorted(d for (d,) in conn.execute(query))
            return [_percentile(durations, q) / NS_PER_MS for q in _QUANTILES]
        # Too many to hold: read the two neighbours each quantile interpolates between.
        result: list[float | None] = []
        for q in _QUANTILES:
            low = math.floor(q * (count - 1))
            pair = [d for (d,) in conn.execute(query.order_by(TRACE_DURATION).limit(2).offset(low))]
            below, above = pair[0], pair[-1]
            result.append((below + (above - below) * (q * (count - 1) - low)) / NS_PER_MS)
        return result

    def trace_rollup(
        self,
        project_ids: list[str],
        group_by: TraceGrouping,
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_results: int = 1000,
    ) -> list[TraceRollup]:
        """Return the totals of the matching traces per session, user, day, model or prompt."""
        if group_by not in TRACE_GROUPINGS:
            raise InvalidInput(
                f"cannot group traces by {group_by!r}; group by one of "
                f"{', '.join(TRACE_GROUPINGS)}",
                group_by=group_by,
            )
        check_max_results(max_results, MAX_SPAN_RESULTS)
        where = self._trace_where(project_ids, filter, start_ns, end_ns)
        with self._db.read() as conn:
            if group_by == "model":
                return self._span_rollup(conn, where, _s.c.model, max_results, self._db.pg)
            if group_by == "prompt":
                return self._span_rollup(
                    conn, where, _s.c.prompt_name, max_results, self._db.pg, _s.c.prompt_version
                )
            return self._trace_rollup(conn, where, group_by, max_results, self._db.pg)

    @staticmethod
    def _trace_rollup(
        conn: Connection, where: ColumnElement[bool], group_by: str, max_results: int, pg: bool
    ) -> list[TraceRollup]:
        """Group trace rows by session, user or UTC day of their start."""
        key: ColumnElement[Any] = {"session": _t.c.session_id, "user": _t.c.user_id}.get(
            group_by, _t.c.start_ns // _NS_PER_DAY
        )
        traces = func.count()
        query = (
            select(
                key,
                traces,
                func.sum(_t.c.span_count),
                func.sum(_t.c.llm_calls),
                _count_sum(_t.c.input_tokens, pg),
                _count_sum(_t.c.output_tokens, pg),
                func.sum(_t.c.cost),
                func.sum(_t.c.unpriced_llm_spans),
            )
            .where(where, key.is_not(None))
            .group_by(key)
            .limit(max_results)
        )
        query = query.order_by(key) if group_by == "day" else query.order_by(traces.desc(), key)
        rows = conn.execute(query).all()
        if group_by == "day":
            return [_rollup(_day(k), *figures) for k, *figures in rows]
        return [_rollup(k, *figures) for k, *figures in rows]

    @staticmethod
    def _span_rollup(
        conn: Connection,
        where: ColumnElement[bool],
        key: Any,
        max_results: int,
        pg: bool,
        version: Any = None,
    ) -> list[TraceRollup]:
        """Group the spans of the matching traces that name a model (or prompt version)."""
        keys = [key] if version is None else [key, version]
        is_llm = _s.c.kind == LLM
        traces = func.count(func.distinct(_s.c.project_id.concat(_s.c.trace_id)))
        query = (
            select(
                *keys,
                traces,
                func.count(),
                func.sum(case((is_llm, 1), else_=0)),
                _count_sum(_s.c.input_tokens, pg),
                _count_sum(_s.c.output_tokens, pg),
                func.sum(_s.c.cost),
                func.sum(case((and_(is_llm, _s.c.cost.is_(None)), 1), else_=0)),
            )
            .select_from(
                _s.join(
                    _t, and_(_t.c.project_id == _s.c.project_id, _t.c.trace_id == _s.c.trace_id)
                )
            )
            .where(where, key.is_not(None))
            .group_by(*keys)
            .order_by(traces.desc(), *keys)
            .limit(max_results)
        )
        rows = conn.execute(query).all()
        if version is None:
            return [_rollup(k, *figures) for k, *figures in rows]
        return [
            _rollup(f"prompts:/{name}" if v is None else f"prompts:/{name}/{v}", *figures)
            for name, v, *figures in rows
        ]
