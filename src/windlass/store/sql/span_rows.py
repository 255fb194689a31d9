"""How spans and trace rows are stored: spans to rows and back, and the bulk statements.

Ingest (in :mod:`~windlass.store.sql.traces`) stores a batch of spans with one bulk INSERT
and updates one row per trace with one bulk upsert. The trace rows are pre-aggregated per
trace in Python (:func:`trace_rows`) and merged into the stored row by arithmetic on the
inserted values: counts and sums add, start and end take the minimum and maximum, status
takes the worst. Rows are built by position, in the tables' column order (checked below).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    Text,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.sql import Select

from windlass.entities import (
    MAX_SPAN_COST,
    MAX_TIME_NS,
    MAX_TOKEN_COUNT,
    Span,
    SpanEvent,
    SpanKind,
    SpanStatus,
)
from windlass.exceptions import InvalidInput
from windlass.store.sql import schema as s

_t, _s = s.traces, s.spans
NS_PER_MS = 1_000_000
LLM = SpanKind.LLM.value
_KINDS = {k.value: k for k in SpanKind}
STATUSES = {st.value: st for st in SpanStatus}
_STATUS_RANK = {"unset": 0, "ok": 1, "error": 2}
_RANKED_STATUS = ("unset", "ok", "error")
_INT64_MAX = 2**63 - 1
# The escape orjson writes for a NUL character: "\u0000" after an even run of backslashes.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


# -- rows -------------------------------------------------------------------------------
SPAN_COLUMNS = tuple(_s.c.keys())
SPAN_START = SPAN_COLUMNS.index("start_ns")
_TEXT_INDEXES = tuple(
    SPAN_COLUMNS.index(name)
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


def spans_from_rows(rows: Sequence[Any]) -> list[Span]:
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
                status=STATUSES[status],
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


def span_row(project_id: str, span: Span, ingested_at: int) -> tuple[Any, ...]:
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
                f"span {span.trace_id}/{span.span_id}: {SPAN_COLUMNS[index]} holds a NUL character",
                trace_id=span.trace_id,
                span_id=span.span_id,
                field=SPAN_COLUMNS[index],
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


def trace_rows(project_id: str, spans: Sequence[Span], ingested_at: int) -> list[tuple[Any, ...]]:
    """Aggregate new spans per trace into rows of ``traces`` (column order, by trace id)."""
    # [name, root, start, end, status rank, spans, llm calls, session, user, input tokens,
    #  output tokens, cost, unpriced llm spans, models]
    acc: dict[str, list[Any]] = {}
    rank = _STATUS_RANK
    for span in spans:
        is_llm = span.kind == LLM
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
# span_row and trace_rows build rows by position: keep them in step with the tables.
assert tuple(_t.c.keys()) == _TRACE_COLUMNS
assert SPAN_COLUMNS[:3] == ("project_id", "trace_id", "span_id") and len(SPAN_COLUMNS) == 30


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
    from sqlalchemy.dialects.postgresql import JSONB

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
def pg_span_insert() -> Any:
    """Return the bulk INSERT of spans for PostgreSQL (one statement for the whole batch).

    ON CONFLICT DO NOTHING skips spans stored already (waiting for a concurrent transaction
    that inserts the same one, then skipping it); RETURNING names the rows that went in.
    """
    from sqlalchemy.dialects import postgresql

    return (
        postgresql.insert(_s)
        .from_select(list(SPAN_COLUMNS), _pg_json_rows(_s))
        .on_conflict_do_nothing()
        .returning(_s.c.trace_id, _s.c.span_id)
    )


@functools.cache
def pg_trace_upsert() -> Any:
    """Return the bulk upsert of trace rows for PostgreSQL (one statement per batch)."""
    from sqlalchemy.dialects import postgresql

    stmt = postgresql.insert(_t).from_select(list(_TRACE_COLUMNS), _pg_json_rows(_t))
    return stmt.on_conflict_do_update(
        index_elements=["project_id", "trace_id"], set_=_merged(stmt.excluded, pg=True)
    )


@functools.cache
def sqlite_span_insert() -> str:
    """Return the INSERT of one span row for SQLite (``?`` placeholders, column order)."""
    from sqlalchemy.dialects import sqlite

    return str(_s.insert().compile(dialect=sqlite.dialect()))


@functools.cache
def sqlite_trace_upsert() -> str:
    """Return the upsert of one trace row for SQLite (``?`` placeholders, column order)."""
    from sqlalchemy.dialects import sqlite

    stmt = sqlite.insert(_t)
    compiled = stmt.on_conflict_do_update(
        index_elements=["project_id", "trace_id"], set_=_merged(stmt.excluded, pg=False)
    ).compile(dialect=sqlite.dialect())
    assert tuple(compiled.positiontup or ()) == _TRACE_COLUMNS
    return str(compiled)
