"""Compile trace filters and order-by into SQLAlchemy expressions over ``traces``.

What :mod:`windlass.store.sql.search` is to runs, this is to the traces of
:mod:`windlass.store.sql.traces`. Trace filters use the language of run filters
(:mod:`windlass.store.filters`) over these fields (``trace.`` or ``span.`` before a name
says which one is meant):

- the trace's own: ``trace_id``, ``name`` (the root span's), ``status``, ``session_id``,
  ``user_id`` (text); ``duration_ms``, ``span_count``, ``llm_calls``, ``input_tokens``,
  ``output_tokens``, ``total_tokens``, ``cost`` (NULL while no cost is known),
  ``start_time_ns``, ``end_time_ns`` (numbers);
- any span's: ``model``, ``provider``, ``kind``, ``prompt_name``, ``prompt_version``,
  ``run_id``: the trace has a span with such a value (``span.name``, ``span.status``,
  ``span.duration_ms``, ``span.cost``... name the span columns the trace also has);
- ``attributes.<key>``: the trace has a span whose attribute ``<key>`` has such a value
  (``attributes."gen_ai.request.model"``, or unquoted with dots).

``status`` (of the trace or ``span.status``) is ``unset``, ``ok`` or ``error`` (any case;
another value is an InvalidFilter). ``status = 'ok'`` means "not an error": it matches OK
and UNSET (the status most instrumentations leave a successful span with), ``status =
'unset'`` only UNSET, ``status = 'error'`` only ERROR; ``!=`` and ``in`` follow suit
(``status != 'ok'`` is ``status = 'error'``). A trace's status is its worst span's.

Number literals must be finite, and integer literals fit in 64 bits once scaled to the
stored unit (``duration_ms`` is stored in ns): anything else is an InvalidFilter naming it.

As with run tags, a negated comparison on a span field (``model != 'x'``,
``attributes.k not in (...)``) matches traces with a span that has the field with another
value; ``not model = 'x'`` matches traces without a span using ``x``. An attribute compared
with a number matches numeric JSON values; compared with a string it matches the value's
text (strings as they are, other JSON values as JSON: ``true``, ``12``).

Traces are ordered by trace fields only; nulls sort last, and the start time, trace id and
project id (newest first) break ties.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Double,
    and_,
    case,
    exists,
    func,
    not_,
    null,
    or_,
    true,
)
from sqlalchemy import cast as sql_cast

from windlass.store import filters as f
from windlass.store.sql import schema as s

_t, _s = s.traces, s.spans
_NS_PER_MS = 1_000_000
_INTEGER = re.compile(r"[-+]?\d+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_PATTERN_OPS = ("like", "ilike")
_STATUSES = ("unset", "ok", "error")
# What a status value in a filter matches: 'ok' is "not an error", so it also matches
# spans left UNSET (what most instrumentations leave a successful span with).
_STATUS_MATCHES = {"unset": ("unset",), "ok": ("ok", "unset"), "error": ("error",)}


def _non_negative(later: Any, earlier: Any) -> ColumnElement[Any]:
    """Return ``later - earlier``, or 0 when negative (a span that ends before it starts)."""
    return case((later < earlier, 0), else_=later - earlier)


#: A trace's duration in nanoseconds (0 for one that ends before it starts).
TRACE_DURATION = _non_negative(_t.c.end_ns, _t.c.start_ns)

# name -> (expression, holds numbers, factor from the filter's unit to the stored one)
_FieldSpec = tuple[ColumnElement[Any], bool, int]
_TRACE_FIELDS: dict[str, _FieldSpec] = {
    "trace_id": (_t.c.trace_id, False, 1),
    "name": (_t.c.name, False, 1),
    "status": (_t.c.status, False, 1),
    "session_id": (_t.c.session_id, False, 1),
    "user_id": (_t.c.user_id, False, 1),
    "duration_ms": (TRACE_DURATION, True, _NS_PER_MS),
    "span_count": (_t.c.span_count, True, 1),
    "llm_calls": (_t.c.llm_calls, True, 1),
    "input_tokens": (_t.c.input_tokens, True, 1),
    "output_tokens": (_t.c.output_tokens, True, 1),
    "total_tokens": (_t.c.input_tokens + _t.c.output_tokens, True, 1),
    "cost": (_t.c.cost, True, 1),
    "start_time_ns": (_t.c.start_ns, True, 1),
    "end_time_ns": (_t.c.end_ns, True, 1),
}
_SPAN_FIELDS: dict[str, _FieldSpec] = {
    "model": (_s.c.model, False, 1),
    "provider": (_s.c.provider, False, 1),
    "kind": (_s.c.kind, False, 1),
    "prompt_name": (_s.c.prompt_name, False, 1),
    "prompt_version": (_s.c.prompt_version, True, 1),
    "run_id": (_s.c.run_id, False, 1),
    "name": (_s.c.name, False, 1),
    "status": (_s.c.status, False, 1),
    "span_id": (_s.c.span_id, False, 1),
    "parent_span_id": (_s.c.parent_span_id, False, 1),
    "session_id": (_s.c.session_id, False, 1),
    "user_id": (_s.c.user_id, False, 1),
    "duration_ms": (_s.c.duration_ns, True, _NS_PER_MS),
    "input_tokens": (_s.c.input_tokens, True, 1),
    "output_tokens": (_s.c.output_tokens, True, 1),
    "cost": (_s.c.cost, True, 1),
}
_NULLABLE_TRACE_FIELDS = {"session_id", "user_id", "cost"}
_FIELD_HELP = (
    "a trace field ("
    + ", ".join(_TRACE_FIELDS)
    + "), a span field ("
    + ", ".join(k for k in _SPAN_FIELDS if k not in _TRACE_FIELDS)
    + ") or attributes.<key>"
)
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


# -- parsing ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TraceField(f.Field):
    """A field of a trace filter: a trace column, a column of any span, or a span attribute.

    ``level`` is ``trace``, ``span`` or ``attribute``; ``scope`` is the prefix the
    parser's messages show (``trace.duration_ms holds numbers`` is also valid filter text).
    """

    numeric: bool = False
    level: str = "trace"

    @property
    def is_numeric(self) -> bool:
        """Tell whether the field holds numbers (attributes may hold either)."""
        return self.numeric

    @property
    def is_joined(self) -> bool:
        """Tell whether a condition on the field is a sub-query (span fields, attributes)."""
        return self.level != "trace"


class _TraceFilterParser(f.Parser):
    """The run filter parser with trace fields instead of run fields."""

    def field(self) -> f.Field:
        """Read a trace field, a span field or ``attributes.<key>``."""
        token = self.current
        if token.kind != "name":
            raise self.fail(_FIELD_HELP)
        word = token.text.lower()
        if word in ("attributes", "attribute", "attr"):
            # The key is read as a run field's is: quoted, or unquoted with dots.
            self.advance()
            key, _key_position = self.read_key(token)
            if '"' in key:
                raise self.error(
                    token.position,
                    f"attribute key {key!r} contains a double quote; it cannot be filtered on",
                )
            return TraceField("attributes", key, token.position, level="attribute")
        self.advance()
        level = ""
        after = self.peek()
        if (
            word in ("trace", "span")
            and self.current.text == "."
            and after.kind == "name"
            and after.position == self.current.position + 1
        ):
            level = word
            self.advance()
            name = self.advance().text.lower()
        else:
            name = word
        if level != "span" and name in _TRACE_FIELDS:
            numeric = _TRACE_FIELDS[name][1]
            return TraceField(cast(f.Scope, "trace"), name, token.position, numeric, "trace")
        if level != "trace" and name in _SPAN_FIELDS:
            numeric = _SPAN_FIELDS[name][1]
            return TraceField(cast(f.Scope, "span"), name, token.position, numeric, "span")
        raise self.error(token.position, f"unknown field {name!r}: use {_FIELD_HELP}")

    def value(self, field: f.Field, op: str) -> f.Value:
        """Read a value as runs do, but keep integers exact and let attributes hold numbers.

        Numbers are bounded (:func:`_number`); a ``status`` is one of ``unset``, ``ok``,
        ``error`` (any case).
        """
        token = self.current
        if token.kind == "number" and (field.is_numeric or field.scope == "attributes"):
            self.advance()
            return self._number(token, field)
        value = super().value(field, op)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(token.position, f"{token.text} is not a finite number")
        if field.key == "status" and field.scope != "attributes" and op not in _PATTERN_OPS:
            status = str(value).lower()
            if status not in _STATUSES:
                raise self.error(
                    token.position, f"a status is one of {', '.join(_STATUSES)}, not {token.text}"
                )
            return status
        return value

    def _number(self, token: f.Token, field: f.Field) -> f.Value:
        """Return a number literal, refusing one no stored value can be compared with.

        Integer literals stay exact (nanosecond times exceed a float's 53 bits) and must
        fit in 64 bits once scaled to the stored unit (``duration_ms`` is stored in ns);
        other numbers must be finite.
        """
        if _INTEGER.fullmatch(token.text):
            number = int(token.text)
            factor = _factor(cast(TraceField, field))
            if not _INT64_MIN <= number * factor <= _INT64_MAX:
                unit = f" ({field.key} is compared in ns)" if factor != 1 else ""
                raise self.error(
                    token.position,
                    f"integer {token.text} is outside the 64-bit range of stored values{unit}",
                )
            return number
        number_f = float(token.text)
        if not math.isfinite(number_f):
            raise self.error(token.position, f"number {token.text} is out of range")
        return number_f


def parse_trace_filter(text: str | None) -> f.Expr | None:
    """Parse a trace filter into an expression tree; empty or None means no filter."""
    if text is None or not text.strip():
        return None
    return _TraceFilterParser(text).parse()


def parse_trace_order_by(clauses: list[str] | None) -> list[tuple[str, bool]]:
    """Parse ``["duration_ms DESC", "cost"]`` into (trace field, ascending) pairs."""
    f.check_order_by(clauses)
    keys: list[tuple[str, bool]] = []
    for clause in clauses or []:
        parser = _TraceFilterParser(clause)
        field = cast(TraceField, parser.field())
        if field.level != "trace":
            raise parser.error(
                field.position,
                f"cannot order traces by {field.scope}.{field.key}; order by "
                f"one of {', '.join(_TRACE_FIELDS)}",
            )
        ascending = True
        if parser.current.word in ("asc", "desc"):
            ascending = parser.advance().word == "asc"
        if parser.current.kind != "end":
            raise parser.fail("ASC, DESC or end of clause")
        keys.append((field.key, ascending))
    return keys


def trace_sort(order_by: list[str] | None) -> list[tuple[ColumnElement[Any], bool]]:
    """Return the ORDER BY of a trace search as (expression, ascending) pairs.

    The ordered fields come first (a nullable one after a flag that sorts its nulls
    last), then start time, trace id and project id, newest first.
    """
    exprs: list[tuple[ColumnElement[Any], bool]] = []
    for name, ascending in parse_trace_order_by(order_by):
        column = _TRACE_FIELDS[name][0]
        if name in _NULLABLE_TRACE_FIELDS:
            exprs.append((case((column.is_(None), 1), else_=0), True))  # nulls last
        exprs.append((column, ascending))
    exprs += [(_t.c.start_ns, False), (_t.c.trace_id, False), (_t.c.project_id, False)]
    return exprs


def _factor(field: TraceField) -> int:
    """Return the factor from a field's filter unit to its stored one (1 for attributes)."""
    if field.level == "trace":
        return _TRACE_FIELDS[field.key][2]
    if field.level == "span":
        return _SPAN_FIELDS[field.key][2]
    return 1


# -- compiling --------------------------------------------------------------------------
def _predicate(column: Any, expr: f.Compare | f.In | f.IsNull, factor: int) -> ColumnElement[bool]:
    def scaled(value: f.Value) -> f.Value:
        return value if isinstance(value, str) else value * factor

    if isinstance(expr, f.IsNull):
        return column.is_not(None) if expr.negated else column.is_(None)  # type: ignore[no-any-return]
    clause: ColumnElement[bool]
    if expr.field.key == "status" and (isinstance(expr, f.In) or expr.op in ("=", "!=")):
        values = expr.values if isinstance(expr, f.In) else (expr.value,)
        clause = column.in_(sorted({m for v in values for m in _STATUS_MATCHES[str(v)]}))
        if isinstance(expr, f.Compare) and expr.op == "!=":
            clause = not_(clause)
    elif isinstance(expr, f.In):
        clause = column.in_([scaled(v) for v in expr.values])
    elif expr.op == "like":
        clause = column.like(expr.value)
    elif expr.op == "ilike":
        clause = column.ilike(expr.value)
    else:
        clause = _COMPARE[expr.op](column, scaled(expr.value))
    return not_(clause) if expr.negated else clause


def _any_span(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Return "the trace has a span meeting ``condition``" (a correlated EXISTS).

    Correlated to ``traces`` only: where the outer query reads ``spans`` too (roll-ups by
    model), the subquery still looks at every span of the trace, not at the outer one.
    """
    return (
        exists()
        .where(_s.c.project_id == _t.c.project_id, _s.c.trace_id == _t.c.trace_id, condition)
        .correlate(_t)
    )


def _attribute_text(pg: bool, key: str) -> ColumnElement[Any]:
    """Return a span attribute as text: strings as they are, other JSON values as JSON."""
    if pg:
        from sqlalchemy.dialects.postgresql import JSON as PG_JSON

        return cast(ColumnElement[Any], sql_cast(_s.c.attributes, PG_JSON)[key].astext)
    path = f'$."{key}"'
    kind = func.json_type(_s.c.attributes, path)
    return case(
        (kind == "text", func.json_extract(_s.c.attributes, path)),
        (kind == "null", null()),
        else_=_s.c.attributes.op("->")(path),
    )


def _attribute_number(pg: bool, key: str) -> ColumnElement[Any]:
    """Return a span attribute as a number, NULL unless it is a JSON number."""
    if pg:
        from sqlalchemy.dialects.postgresql import JSON as PG_JSON

        value = sql_cast(_s.c.attributes, PG_JSON)[key]
        return case((func.json_typeof(value) == "number", sql_cast(value.astext, Double)))
    path = f'$."{key}"'
    return case(
        (
            func.json_type(_s.c.attributes, path).in_(("integer", "real")),
            func.json_extract(_s.c.attributes, path),
        )
    )


def _attribute_condition(pg: bool, expr: f.Compare | f.In | f.IsNull) -> ColumnElement[bool]:
    key = expr.field.key
    if isinstance(expr, f.IsNull):
        has = _any_span(_attribute_text(pg, key).is_not(None))
        return has if expr.negated else not_(has)

    def compare(op: str, value: f.Value) -> ColumnElement[bool]:
        if not isinstance(value, str):
            return cast(ColumnElement[bool], _COMPARE[op](_attribute_number(pg, key), value))
        text = _attribute_text(pg, key)
        if op == "like":
            return text.like(value)
        if op == "ilike":
            return text.ilike(value)
        return cast(ColumnElement[bool], _COMPARE[op](text, value))

    clause = (
        or_(*(compare("=", v) for v in expr.values))
        if isinstance(expr, f.In)
        else compare(expr.op, expr.value)
    )
    return _any_span(not_(clause) if expr.negated else clause)


def compile_trace_filter(expr: f.Expr | None, pg: bool) -> ColumnElement[bool]:
    """Return a WHERE clause over ``traces`` for a parsed trace filter."""
    if expr is None:
        return true()
    if isinstance(expr, f.And):
        return and_(*(compile_trace_filter(p, pg) for p in expr.parts))
    if isinstance(expr, f.Or):
        return or_(*(compile_trace_filter(p, pg) for p in expr.parts))
    if isinstance(expr, f.Not):
        return not_(compile_trace_filter(expr.part, pg))
    field = cast(TraceField, expr.field)
    if field.level == "attribute":
        return _attribute_condition(pg, expr)
    if field.level == "trace":
        column, _numeric, factor = _TRACE_FIELDS[field.key]
        return _predicate(column, expr, factor)
    column, _numeric, factor = _SPAN_FIELDS[field.key]
    if isinstance(expr, f.IsNull):
        has = _any_span(column.is_not(None))
        return has if expr.negated else not_(has)
    return _any_span(_predicate(column, expr, factor))
