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
import functools
import logging
import math
import operator
import re
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Double,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError
from sqlalchemy.sql import Select

from windlass.entities import (
    MAX_SPAN_COST,
    MAX_TIME_NS,
    MAX_TOKEN_COUNT,
    TRACE_GROUPINGS,
    Page,
    Span,
    SpanEvent,
    SpanIngestResult,
    SpanKind,
    SpanStatus,
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
_NS_PER_MS = 1_000_000
_NS_PER_DAY = 86_400 * 1_000_000_000
_LLM = SpanKind.LLM.value
_KINDS = {k.value: k for k in SpanKind}
_STATUSES = {st.value: st for st in SpanStatus}
_STATUS_RANK = {"unset": 0, "ok": 1, "error": 2}
_RANKED_STATUS = ("unset", "ok", "error")
_QUANTILES = (0.5, 0.95, 0.99)
_INT64_MAX = 2**63 - 1
# The escape orjson writes for a NUL character: "\u0000" after an even run of backslashes.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


# -- rows -------------------------------------------------------------------------------
_SPAN_COLUMNS = tuple(_s.c.keys())
_START = _SPAN_COLUMNS.index("start_ns")
_TEXT_INDEXES = tuple(
    _SPAN_COLUMNS.index(name)
    for name in (
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "status_message",
        "model",
        "provider",
        "session_id",
        "user_id",
        "run_id",
        "prompt_name",
        "input",
        "output",
        "scope",
    )
)
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


def _spans_from_rows(rows: Sequence[Any]) -> list[Span]:
    """Build spans from rows holding the columns of ``spans`` in table order."""
    loads = orjson.loads
    unknown = SpanKind.UNKNOWN
    spans: list[Span] = []
    for (
        _project_id,
        trace_id,
        span_id,
        parent_span_id,
        name,
        kind,
        start_ns,
        end_ns,
        _duration_ns,
        status,
        status_message,
        model,
        provider,
        input_tokens,
        output_tokens,
        cached_input_tokens,
        reasoning_tokens,
        cost,
        session_id,
        user_id,
        run_id,
        prompt_name,
        prompt_version,
        input_text,
        output_text,
        attributes,
        resource,
        events,
        scope,
        _ingested_at,
        *_rest,
    ) in rows:
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=span_id,
                name=name,
                start_time_ns=start_ns,
                end_time_ns=end_ns,
                parent_span_id=parent_span_id,
                kind=_KINDS.get(kind, unknown),
                status=_STATUSES[status],
                status_message=status_message,
                attributes=loads(attributes),
                resource=loads(resource),
                scope=scope,
                events=tuple(
                    SpanEvent(e["name"], e["time_ns"], e["attributes"]) for e in loads(events)
                ),
                input=input_text,
                output=output_text,
                model=model,
                provider=provider,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cached_input_tokens=cached_input_tokens,
                reasoning_tokens=reasoning_tokens,
                cost=cost,
                session_id=session_id,
                user_id=user_id,
                run_id=run_id,
                prompt_name=prompt_name,
                prompt_version=prompt_version,
            )
        )
    return spans


_BOUNDED_FIELDS: tuple[tuple[str, int], ...] = (
    ("start_time_ns", MAX_TIME_NS),
    ("end_time_ns", MAX_TIME_NS),
    ("input_tokens", MAX_TOKEN_COUNT),
    ("output_tokens", MAX_TOKEN_COUNT),
    ("cached_input_tokens", MAX_TOKEN_COUNT),
    ("reasoning_tokens", MAX_TOKEN_COUNT),
    ("prompt_version", _INT64_MAX),
)


def _check_bounds(span: Span) -> None:
    """Refuse a span with a number outside what is stored (InvalidInput naming it).

    The traces domain clamps values into these bounds before they get here
    (:mod:`windlass.genai.tracing.span_bounds`); this guards every other caller, so no stored
    value can overflow a later sum.
    """
    for name, high in _BOUNDED_FIELDS:
        value = getattr(span, name)
        if value is not None and (type(value) is not int or not 0 <= value <= high):
            raise InvalidInput(
                f"span {span.trace_id}/{span.span_id}: {name} {value!r} is outside "
                f"0..{high}, the range that can be stored",
                trace_id=span.trace_id,
                span_id=span.span_id,
                field=name,
            )
    for event in span.events:
        if type(event.time_ns) is not int or not 0 <= event.time_ns <= MAX_TIME_NS:
            raise InvalidInput(
                f"span {span.trace_id}/{span.span_id}: an event time {event.time_ns!r} is "
                f"outside 0..{MAX_TIME_NS}, the range that can be stored",
                trace_id=span.trace_id,
                span_id=span.span_id,
                field="events",
            )
    cost = span.cost
    if cost is not None and not (
        type(cost) in (int, float) and math.isfinite(cost) and 0 <= cost <= MAX_SPAN_COST
    ):
        raise InvalidInput(
            f"span {span.trace_id}/{span.span_id}: cost {cost!r} is not an "
            f"amount between 0 and {MAX_SPAN_COST:g}, which can be stored",
            trace_id=span.trace_id,
            span_id=span.span_id,
            field="cost",
        )


def _span_row(project_id: str, span: Span, ingested_at: int) -> tuple[Any, ...]:
    """Return a span as a row of ``spans`` (a tuple in the table's column order).

    Raises InvalidInput for malformed ids, values that are not JSON, and NUL characters
    (PostgreSQL text cannot hold them, so neither database takes them).
    """
    if (
        len(span.trace_id) != 32
        or len(span.span_id) != 16
        or (span.parent_span_id is not None and len(span.parent_span_id) != 16)
    ):
        raise InvalidInput(
            f"span {span.trace_id!r}/{span.span_id!r}: a trace id has 32 hex characters, a "
            "span id 16",
            trace_id=span.trace_id,
            span_id=span.span_id,
        )
    _check_bounds(span)
    dumps = orjson.dumps
    try:
        attributes = dumps(span.attributes) if span.attributes else b"{}"
        resource = dumps(span.resource) if span.resource else b"{}"
        # orjson writes the SpanEvent dataclasses as {name, time_ns, attributes} objects.
        events = dumps(span.events) if span.events else b"[]"
    except orjson.JSONEncodeError as exc:
        raise InvalidInput(
            f"span {span.trace_id}/{span.span_id} has attributes, resource or "
            f"events that are not JSON: {exc}",
            trace_id=span.trace_id,
            span_id=span.span_id,
        ) from None
    row: tuple[Any, ...] = (
        project_id,
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.name,
        str(span.kind),
        span.start_time_ns,
        span.end_time_ns,
        span.duration_ns,
        str(span.status),
        span.status_message,
        span.model,
        span.provider,
        span.input_tokens,
        span.output_tokens,
        span.cached_input_tokens,
        span.reasoning_tokens,
        span.cost,
        span.session_id,
        span.user_id,
        span.run_id,
        span.prompt_name,
        span.prompt_version,
        span.input,
        span.output,
        attributes.decode(),
        resource.decode(),
        events.decode(),
        span.scope,
        ingested_at,
    )
    for index in _TEXT_INDEXES:
        text = row[index]
        if text and "\x00" in text:
            raise InvalidInput(
                f"span {span.trace_id}/{span.span_id}: {_SPAN_COLUMNS[index]} holds a NUL "
                "character",
                trace_id=span.trace_id,
                span_id=span.span_id,
                field=_SPAN_COLUMNS[index],
            )
    for name, data in (("attributes", attributes), ("resource", resource), ("events", events)):
        if b"\\u0000" in data and _JSON_NUL.search(data):
            raise InvalidInput(
                f"span {span.trace_id}/{span.span_id}: {name} hold a NUL character",
                trace_id=span.trace_id,
                span_id=span.span_id,
                field=name,
            )
    return row


def _trace_rows(project_id: str, spans: Sequence[Span], ingested_at: int) -> list[tuple[Any, ...]]:
    """Aggregate new spans per trace into rows of ``traces`` (column order, by trace id)."""
    # [name, root, start, end, status rank, spans, llm calls, session, user, input tokens,
    #  output tokens, cost, unpriced llm spans, models]
    acc: dict[str, list[Any]] = {}
    rank = _STATUS_RANK
    for span in spans:
        is_llm = span.kind == _LLM
        a = acc.get(span.trace_id)
        if a is None:
            acc[span.trace_id] = [
                span.name,
                span.span_id if span.parent_span_id is None else None,
                span.start_time_ns,
                span.end_time_ns,
                rank[span.status],
                1,
                int(is_llm),
                span.session_id,
                span.user_id,
                span.input_tokens or 0,
                span.output_tokens or 0,
                span.cost,
                int(is_llm and span.cost is None),
                {span.model} if span.model is not None else set(),
            ]
            continue
        if a[1] is None:
            if span.parent_span_id is None:
                a[0], a[1] = span.name, span.span_id
            elif span.start_time_ns < a[2]:
                a[0] = span.name
        if span.start_time_ns < a[2]:
            a[2] = span.start_time_ns
        if span.end_time_ns > a[3]:
            a[3] = span.end_time_ns
        a[4] = max(a[4], rank[span.status])
        a[5] += 1
        a[6] += is_llm
        if a[7] is None:
            a[7] = span.session_id
        if a[8] is None:
            a[8] = span.user_id
        a[9] += span.input_tokens or 0
        a[10] += span.output_tokens or 0
        if span.cost is not None:
            a[11] = span.cost if a[11] is None else a[11] + span.cost
        elif is_llm:
            a[12] += 1
        if span.model is not None:
            a[13].add(span.model)
    dumps = orjson.dumps
    return [
        (
            project_id,
            trace_id,
            a[0],
            a[1],
            a[2],
            a[3],
            _RANKED_STATUS[a[4]],
            a[5],
            a[6],
            a[7],
            a[8],
            a[9],
            a[10],
            a[11],
            a[12],
            dumps(sorted(a[13])).decode(),
            ingested_at,
        )
        for trace_id, a in sorted(acc.items())
    ]


_TRACE_COLUMNS = (
    "project_id",
    "trace_id",
    "name",
    "root_span_id",
    "start_ns",
    "end_ns",
    "status",
    "span_count",
    "llm_calls",
    "session_id",
    "user_id",
    "input_tokens",
    "output_tokens",
    "cost",
    "unpriced_llm_spans",
    "models",
    "ingested_at",
)
# _span_row and _trace_rows build rows by position: keep them in step with the tables.
assert tuple(_t.c.keys()) == _TRACE_COLUMNS
assert _SPAN_COLUMNS[:3] == ("project_id", "trace_id", "span_id") and len(_SPAN_COLUMNS) == 30


def _merged(new: Any, pg: bool) -> dict[str, Any]:
    """Return the SET of the trace upsert: the stored row merged with the new one.

    Every right-hand side reads the stored row as it was before this update (SQL's rule),
    and the constants are inlined, so the SQLite statement's only parameters are the row's.
    """
    least, greatest = (func.least, func.greatest) if pg else (func.min, func.max)
    error, ok, unset = (literal_column(f"'{v}'", String) for v in _RANKED_STATUS[::-1])
    models: ColumnElement[Any]
    if pg:
        models = literal_column(
            "CASE WHEN traces.models::jsonb @> excluded.models::jsonb THEN traces.models "
            "ELSE (SELECT jsonb_agg(m ORDER BY m)::text FROM (SELECT "
            "jsonb_array_elements_text(traces.models::jsonb) UNION SELECT "
            "jsonb_array_elements_text(excluded.models::jsonb)) AS u(m)) END"
        )
    else:
        models = literal_column(
            "CASE WHEN excluded.models = '[]' OR excluded.models = traces.models "
            "THEN traces.models ELSE (SELECT json_group_array(value) FROM (SELECT value "
            "FROM json_each(traces.models) UNION SELECT value FROM "
            "json_each(excluded.models) ORDER BY 1)) END"
        )
    return {
        "name": case(
            (_t.c.root_span_id.is_not(None), _t.c.name),
            (new.root_span_id.is_not(None), new.name),
            (new.start_ns < _t.c.start_ns, new.name),
            else_=_t.c.name,
        ),
        "root_span_id": func.coalesce(_t.c.root_span_id, new.root_span_id),
        "start_ns": least(_t.c.start_ns, new.start_ns),
        "end_ns": greatest(_t.c.end_ns, new.end_ns),
        "status": case(
            (or_(_t.c.status == error, new.status == error), error),
            (or_(_t.c.status == ok, new.status == ok), ok),
            else_=unset,
        ),
        "span_count": _t.c.span_count + new.span_count,
        "llm_calls": _t.c.llm_calls + new.llm_calls,
        "session_id": func.coalesce(_t.c.session_id, new.session_id),
        "user_id": func.coalesce(_t.c.user_id, new.user_id),
        "input_tokens": _t.c.input_tokens + new.input_tokens,
        "output_tokens": _t.c.output_tokens + new.output_tokens,
        "cost": case(
            (_t.c.cost.is_(None), new.cost),
            (new.cost.is_(None), _t.c.cost),
            else_=_t.c.cost + new.cost,
        ),
        "unpriced_llm_spans": _t.c.unpriced_llm_spans + new.unpriced_llm_spans,
        "models": models,
        "ingested_at": greatest(_t.c.ingested_at, new.ingested_at),
    }


def _pg_json_rows(table: Table) -> Select[Any]:
    """SELECT the rows of the JSON array of row arrays bound as ``rows``, typed as ``table``.

    One parameter carries the whole batch: orjson writes it in C and PostgreSQL parses it
    once (jsonb), far faster than psycopg adapting a parameter per value.
    """
    row = func.jsonb_array_elements(sql_cast(bindparam("rows", type_=Text), JSONB)).column_valued(
        "r"
    )
    # Text, not VARCHAR(n): an explicit cast would truncate; the insert's check refuses.
    return select(
        *(
            sql_cast(
                row.op("->>")(literal_column(str(i))),
                Text() if isinstance(column.type, String) else column.type,
            ).label(column.name)
            for i, column in enumerate(table.columns)
        )
    )


@functools.cache
def _pg_span_insert() -> Any:
    """Return the bulk INSERT of spans for PostgreSQL (one statement for the whole batch).

    ON CONFLICT DO NOTHING skips spans stored already (waiting for a concurrent transaction
    that inserts the same one, then skipping it); RETURNING names the rows that went in.
    """
    return (
        postgresql.insert(_s)
        .from_select(list(_SPAN_COLUMNS), _pg_json_rows(_s))
        .on_conflict_do_nothing()
        .returning(_s.c.trace_id, _s.c.span_id)
    )


@functools.cache
def _pg_trace_upsert() -> Any:
    """Return the bulk upsert of trace rows for PostgreSQL (one statement per batch)."""
    stmt = postgresql.insert(_t).from_select(list(_TRACE_COLUMNS), _pg_json_rows(_t))
    return stmt.on_conflict_do_update(
        index_elements=["project_id", "trace_id"], set_=_merged(stmt.excluded, pg=True)
    )


@functools.cache
def _sqlite_span_insert() -> str:
    """Return the INSERT of one span row for SQLite (``?`` placeholders, column order)."""
    return str(_s.insert().compile(dialect=sqlite.dialect()))


@functools.cache
def _sqlite_trace_upsert() -> str:
    """Return the upsert of one trace row for SQLite (``?`` placeholders, column order)."""
    stmt = sqlite.insert(_t)
    compiled = stmt.on_conflict_do_update(
        index_elements=["project_id", "trace_id"], set_=_merged(stmt.excluded, pg=False)
    ).compile(dialect=sqlite.dialect())
    assert tuple(compiled.positiontup or ()) == _TRACE_COLUMNS
    return str(compiled)


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
            rows = [_span_row(project_id, span, ingested_at) for span in unique.values()]
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
                    self._merge_traces(conn, _trace_rows(project_id, fresh, ingested_at))
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
            inserted = conn.execute(_pg_span_insert(), {"rows": orjson.dumps(rows).decode()})
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
            conn.exec_driver_sql(_sqlite_span_insert(), rows)
        return stored

    def _merge_traces(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Upsert trace rows, merging each into the stored one (rows sorted by trace id)."""
        if self._db.pg:
            conn.execute(_pg_trace_upsert(), {"rows": orjson.dumps(rows).decode()})
        else:
            conn.exec_driver_sql(_sqlite_trace_upsert(), rows)

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
            spans = _spans_from_rows(rows)
        if not spans:
            where = "" if project_id is None else f" in project id {project_id!r}"
            raise TraceNotFound(f"trace {trace_id!r} does not exist{where}", trace_id=trace_id)
        return spans

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
            items = _spans_from_rows(rows[:max_results])
        token = None
        if len(rows) > max_results:
            last = rows[max_results - 1]
            token = encode_token(
                {"k": "spans", "s": last[_START], "t": last[1], "i": last[2], "p": last[0]}
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
                status=_STATUSES[status],
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
                quantiles = [None if v is None else float(v) / _NS_PER_MS for v in row[9:]]
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
            return [_percentile(durations, q) / _NS_PER_MS for q in _QUANTILES]
        # Too many to hold: read the two neighbours each quantile interpolates between.
        result: list[float | None] = []
        for q in _QUANTILES:
            low = math.floor(q * (count - 1))
            pair = [d for (d,) in conn.execute(query.order_by(TRACE_DURATION).limit(2).offset(low))]
            below, above = pair[0], pair[-1]
            result.append((below + (above - below) * (q * (count - 1) - low)) / _NS_PER_MS)
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
        is_llm = _s.c.kind == _LLM
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
