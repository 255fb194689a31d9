"""Check a request's decoded inputs against the model's signature, cell by cell.

The one boundary between a client's body and the model: records, columns and rows of
``POST /predict`` (JSON or CSV) and the tensors of the V2 infer route arrive as plain
values; each is checked here against its column's dtype before numpy, pandas or the model
library sees it. What is refused is a 400 :class:`~windlass.exceptions.SchemaMismatch`
naming the column (or V2 input) and the row: empty cells, ``"nan"`` or ``"inf"`` as text
in a number column, booleans or text where numbers belong, NUL bytes in text, ragged
columns or rows, lists or objects as cells, integers out of their dtype's range.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from windlass.exceptions import SchemaMismatch
from windlass.models.signature import Schema, dtype_kind

#: Kinds whose cells this module checks exactly; others (datetimes...) only refuse
#: empty, nested and NUL-carrying cells and leave the rest to the signature's conversion.
_CHECKED = frozenset({"float", "integer", "bool", "string", "bytes"})


def describe(value: Any) -> str:
    """Return a short, safe description of a JSON value for an error message."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:20] + "..."
        return "an empty string" if not value else f"the text {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


@functools.lru_cache(maxsize=64)
def _int_range(dtype: str) -> tuple[int, int]:
    import numpy as np

    try:
        info = np.iinfo(np.dtype(dtype))
    except (TypeError, ValueError):
        info = np.iinfo(np.int64)
    return int(info.min), int(info.max)


def cell_problem(kind: str, dtype: str, value: Any) -> str | None:
    """Return what is wrong with ``value`` as a cell of a ``dtype`` column, or None."""
    kind_of = type(value)
    if kind == "float":
        if kind_of is float:
            return None
        if kind_of is int:
            return (
                None
                if -(2**64) < value < 2**64
                else f"{describe(value)} is out of range for {dtype}"
            )
        return f"expected a number ({dtype}), got {describe(value)}"
    if kind == "integer":
        low, high = _int_range(dtype)
        if kind_of is float and value.is_integer() and abs(value) <= 2**53:
            value = int(value)  # exact: a larger float may stand for a neighbouring integer
        elif kind_of is not int:
            return f"expected an integer ({dtype}), got {describe(value)}"
        return (
            None
            if low <= value <= high
            else f"{describe(value)} is out of range for {dtype} ({low} to {high})"
        )
    if kind == "bool":
        return None if kind_of is bool else f"expected true or false, got {describe(value)}"
    if kind in ("string", "bytes"):
        if kind_of is not str:
            return f"expected text, got {describe(value)}"
        return "text must not contain NUL bytes" if "\x00" in value else None
    if value is None or kind_of in (list, dict):
        return f"expected a single {dtype} value, got {describe(value)}"
    if kind_of is str and "\x00" in value:
        return "text must not contain NUL bytes"
    return None


def _mismatch(column: str, row: int, problem: str) -> SchemaMismatch:
    return SchemaMismatch(f"column {column!r}, row {row}: {problem}", column=column, row=row)


def _check_column(name: str, dtype: str, values: list[Any], first_row: int = 0) -> None:
    kind = dtype_kind(dtype)
    if kind == "float" and all(type(v) is float for v in values):
        return  # the common case, checked without a call per cell
    for row, value in enumerate(values, first_row):
        problem = cell_problem(kind if kind in _CHECKED else "other", dtype, value)
        if problem is not None:
            raise _mismatch(name, row, problem)


def _check_names(given: list[str], names: list[str], row: int | None) -> None:
    where = "" if row is None else f"row {row}: "
    missing = [n for n in names if n not in given]
    if missing:
        raise SchemaMismatch(
            f"{where}missing column(s) {missing}; the model takes {names}",
            column=missing[0],
            missing=missing,
            **({} if row is None else {"row": row}),
        )
    extra = [str(c) for c in given if c not in names]
    if extra:
        raise SchemaMismatch(
            f"{where}unexpected column(s) {extra}; the model takes {names}",
            column=extra[0],
            extra=extra,
            **({} if row is None else {"row": row}),
        )


def _check_columns_object(schema: Schema, columns: dict[str, Any]) -> None:
    names = [c.name for c in schema.columns]
    _check_names(list(columns), names, None)
    first = names[0]
    rows = None
    for spec in schema.columns:
        values = columns[spec.name]
        if not isinstance(values, list):
            raise SchemaMismatch(
                f"column {spec.name!r} must be an array of values, one per "
                f"row; got {describe(values)}",
                column=spec.name,
            )
        if rows is None:
            rows = len(values)
        elif len(values) != rows:
            raise _mismatch(
                spec.name,
                min(rows, len(values)),
                f"columns differ in length: {first!r} has {rows} values, "
                f"{spec.name!r} has {len(values)}",
            )
        _check_column(spec.name, spec.dtype, values)
    if not rows:
        raise SchemaMismatch("the columns hold no rows", column=first)


class _Table:
    """What every check of one table schema needs, worked out once per schema object."""

    __slots__ = ("all_float", "keys", "names", "schema")

    def __init__(self, schema: Schema) -> None:
        self.schema = schema  # held, so the id() this is cached under stays this schema's
        self.names = [c.name for c in schema.columns]
        self.keys = frozenset(self.names)
        self.all_float = all(c.dtype == "float64" for c in schema.columns)


_TABLES: dict[int, _Table] = {}
_MAX_TABLES = 64


def _table(schema: Schema) -> _Table:
    """Return the column names and kinds of ``schema`` (cached: this is the scoring hot path).

    A served model checks every request against the same schema object; keyed by its id, the
    entry also holds the schema, so an id reused by another object is never mistaken for it.
    """
    table = _TABLES.get(id(schema))
    if table is None or table.schema is not schema:
        if len(_TABLES) >= _MAX_TABLES:
            _TABLES.clear()
        table = _TABLES[id(schema)] = _Table(schema)
    return table


def _check_records(schema: Schema, records: list[Any]) -> None:
    table = _table(schema)
    names, keys = table.names, table.keys
    for row, record in enumerate(records):
        if type(record) is not dict:
            raise SchemaMismatch(
                f"row {row} must be a record (an object of columns) like "
                f"row 0; got {describe(record)}",
                row=row,
            )
        if record.keys() != keys:
            _check_names(list(record), names, row)
    if table.all_float and all(type(v) is float for record in records for v in record.values()):
        return  # the common case (all floats), checked in one pass
    for spec in schema.columns:
        _check_column(spec.name, spec.dtype, [record[spec.name] for record in records])


def _check_rows(schema: Schema, rows: list[Any]) -> None:
    names = [c.name for c in schema.columns]
    for row, values in enumerate(rows):
        if not isinstance(values, list):
            raise SchemaMismatch(
                f"row {row} must be a list of {len(names)} values like row "
                f"0; got {describe(values)}",
                row=row,
            )
        if len(values) != len(names):
            raise SchemaMismatch(
                f"row {row} has {len(values)} values; the model takes {len(names)} columns {names}",
                row=row,
            )
    for index, spec in enumerate(schema.columns):
        _check_column(spec.name, spec.dtype, [values[index] for values in rows])


def _check_table(schema: Schema, inputs: Any) -> None:
    if isinstance(inputs, dict):
        _check_columns_object(schema, inputs)
    elif isinstance(inputs, list) and inputs and isinstance(inputs[0], dict):
        _check_records(schema, inputs)
    elif isinstance(inputs, list) and inputs and isinstance(inputs[0], list):
        _check_rows(schema, inputs)
    else:
        first = inputs[0] if isinstance(inputs, list) and inputs else inputs
        raise SchemaMismatch(
            "inputs must be records (a list of objects), an object of "
            f"columns or a list of rows; row 0 is {describe(first)}",
            row=0,
        )


def _check_tensor(schema: Schema, inputs: Any) -> None:
    shape = schema.shape or []
    dtype = schema.dtype or "float64"
    kind = dtype_kind(dtype)
    kind = kind if kind in _CHECKED else "other"
    if not isinstance(inputs, list) or not inputs or not shape or isinstance(inputs[0], dict):
        return  # a scalar model or a table-shaped body: the signature's conversion decides

    widths: list[int | None] = [None] * len(shape)
    last = len(shape) - 1

    def walk(value: list[Any], axis: int, row: int, at: list[int]) -> None:
        want, seen = shape[axis], widths[axis]
        if (want >= 0 and len(value) != want) or (seen is not None and len(value) != seen):
            raise SchemaMismatch(
                f"input row {row}: position {at} has {len(value)} values "
                f"where the model takes shape {shape} and other rows "
                f"have {want if want >= 0 else seen}",
                field="input",
                row=row,
                axis=axis,
            )
        widths[axis] = len(value)
        for index, item in enumerate(value):
            here = index if axis == 0 else row
            if axis == last:
                problem = cell_problem(kind, dtype, item)
                if problem is not None:
                    raise SchemaMismatch(
                        f"input row {here}, position {[*at, index]}: {problem}",
                        field="input",
                        row=here,
                    )
            elif not isinstance(item, list):
                raise SchemaMismatch(
                    f"input row {here}, position {[*at, index]}: expected "
                    f"a list (the model takes shape {shape}), got "
                    f"{describe(item)}",
                    field="input",
                    row=here,
                )
            else:
                walk(item, axis + 1, here, [*at, index])

    walk(inputs, 0, 0, [])


def check_inputs(schema: Schema | None, inputs: Any) -> Any:
    """Return decoded JSON ``inputs`` checked against ``schema`` (None: no signature).

    Rows (lists of values) of a table model come back as records, so that each column keeps
    its own dtype. Raises :class:`SchemaMismatch` naming the column (or ``input``) and row.
    """
    if schema is None:
        return inputs
    if schema.kind != "columns":
        _check_tensor(schema, inputs)
        return inputs
    _check_table(schema, inputs)
    if isinstance(inputs, list) and isinstance(inputs[0], list):
        names = _table(schema).names
        return [dict(zip(names, values, strict=True)) for values in inputs]
    return inputs


def check_frame(schema: Schema | None, frame: Any) -> None:
    """Check a parsed CSV body (a DataFrame) against ``schema``: the same rules as JSON."""
    if schema is None or schema.kind != "columns":
        return
    names = [c.name for c in schema.columns]
    _check_names([str(c) for c in frame.columns], names, None)
    for spec in schema.columns:
        kind = dtype_kind(spec.dtype)
        values = [
            None if isinstance(v, float) and math.isnan(v) else v for v in frame[spec.name].tolist()
        ]
        if kind in ("float", "integer"):
            values = [_csv_number(v) for v in values]
        if kind == "float":
            for row, value in enumerate(values):
                if isinstance(value, float) and not math.isfinite(value):
                    raise _mismatch(
                        spec.name, row, f"expected a finite number ({spec.dtype}), got {value!r}"
                    )
        _check_column(spec.name, spec.dtype, values)


def _csv_number(value: Any) -> Any:
    """Return a CSV cell pandas left as text as its number, if it is one (else unchanged)."""
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value
