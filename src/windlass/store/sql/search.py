"""Compile a parsed run filter and order-by into SQLAlchemy expressions (parameterized)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, not_, or_, select, true
from sqlalchemy.sql import Select

from windlass.store import filters as f
from windlass.store.sql.schema import latest_metrics, params, runs, tags

_ATTRIBUTE_COLUMNS = {name: runs.c[name] for name in f.ATTRIBUTES}
_KEYED = {"metrics": latest_metrics, "params": params, "tags": tags}


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "=":
        return column == value  # type: ignore[no-any-return]
    if op == "!=":
        return column != value  # type: ignore[no-any-return]
    if op == "<":
        return column < value  # type: ignore[no-any-return]
    if op == "<=":
        return column <= value  # type: ignore[no-any-return]
    if op == ">":
        return column > value  # type: ignore[no-any-return]
    if op == ">=":
        return column >= value  # type: ignore[no-any-return]
    if op == "like":
        return column.like(value)  # type: ignore[no-any-return]
    if op == "ilike":
        return column.ilike(value)  # type: ignore[no-any-return]
    raise AssertionError(f"unknown operator {op}")


def _keyed_runs(field: f.Field, condition: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """``runs.id IN (run ids having this key [and matching condition])``."""
    table = _KEYED[field.scope]
    where = table.c.key == field.key
    if condition is not None:
        where = and_(where, condition)
    return runs.c.id.in_(select(table.c.run_id).where(where))


def compile_filter(expr: f.Expr | None) -> ColumnElement[bool]:
    """Return a WHERE clause over ``runs`` for a parsed filter."""
    if expr is None:
        return true()
    if isinstance(expr, f.And):
        return and_(*(compile_filter(p) for p in expr.parts))
    if isinstance(expr, f.Or):
        return or_(*(compile_filter(p) for p in expr.parts))
    if isinstance(expr, f.Not):
        return not_(compile_filter(expr.part))
    field = expr.field
    if field.scope == "attributes":
        column = _ATTRIBUTE_COLUMNS[field.key]
        if isinstance(expr, f.IsNull):
            return column.is_not(None) if expr.negated else column.is_(None)
        clause: ColumnElement[bool]
        if isinstance(expr, f.In):
            clause = column.in_(list(expr.values))
        else:
            clause = _compare(column, expr.op, expr.value)
        return not_(clause) if expr.negated else clause
    table = _KEYED[field.scope]
    if isinstance(expr, f.IsNull):
        has = _keyed_runs(field, None)
        return has if expr.negated else not_(has)
    value_clause: ColumnElement[bool]
    if isinstance(expr, f.In):
        value_clause = table.c.value.in_(list(expr.values))
    else:
        value_clause = _compare(table.c.value, expr.op, expr.value)
    return _keyed_runs(field, not_(value_clause) if expr.negated else value_clause)


@dataclass(frozen=True)
class SortPlan:
    """The ORDER BY of a search: outer joins, sort expressions and their directions."""

    query: Select[Any]
    exprs: list[tuple[ColumnElement[Any], bool]]  # (expression, ascending), nullable ones paired

    def value_types(self) -> list[type]:
        """Return the Python type of each sort expression (``object`` when unknown)."""
        types: list[type] = []
        for expr, _ascending in self.exprs:
            try:
                types.append(expr.type.python_type)
            except NotImplementedError:
                types.append(object)
        return types

    def keyset_after(self, values: list[Any]) -> ColumnElement[bool]:
        """Return the condition "row sorts after ``values``" (lexicographic keyset)."""
        alternatives: list[ColumnElement[bool]] = []
        equal_so_far: list[ColumnElement[bool]] = []
        for (expr, ascending), value in zip(self.exprs, values, strict=True):
            if value is None:
                # Nulls sort together (their null-flag column came first): nothing is after.
                equal_so_far.append(expr.is_(None))
                continue
            after = expr > value if ascending else expr < value
            alternatives.append(and_(*equal_so_far, after) if equal_so_far else after)
            equal_so_far.append(expr == value)
        return or_(*alternatives) if alternatives else false()


def plan_sort(query: Select[Any], keys: list[f.OrderKey]) -> SortPlan:
    """Add outer joins and ORDER BY for ``keys`` (then start time and id, newest first)."""
    exprs: list[tuple[ColumnElement[Any], bool]] = []
    for index, key in enumerate(keys):
        field = key.field
        if field.scope == "attributes":
            column: ColumnElement[Any] = _ATTRIBUTE_COLUMNS[field.key]
        else:
            joined = _KEYED[field.scope].alias(f"sort{index}")
            query = query.outerjoin(
                joined, and_(joined.c.run_id == runs.c.id, joined.c.key == field.key)
            )
            column = joined.c.value
        # Nulls (and NaN metrics, stored as null) always sort last.
        exprs.append((case((column.is_(None), 1), else_=0), True))
        exprs.append((column, key.ascending))
    exprs.append((runs.c.start_time, False))
    exprs.append((runs.c.id, False))
    query = query.order_by(*(e.asc() if asc else e.desc() for e, asc in exprs))
    query = query.add_columns(*(e.label(f"_sort{i}") for i, (e, _asc) in enumerate(exprs)))
    return SortPlan(query, exprs)
