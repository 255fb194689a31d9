"""Model signatures: what a model takes and gives, inferred from examples, enforced at predict.

A signature side is either *columns* (a table: names and dtypes, from a DataFrame, a dict of
columns or a list of records) or a *tensor* (one array: dtype and shape, ``-1`` for any
length). :func:`enforce` turns caller input into what the model expects, converting only
where no information is lost (int → float, a list of dicts → DataFrame, float64 → float32
for tensors) and otherwise raising :class:`~windlass.exceptions.SchemaMismatch` naming the
column.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from windlass.exceptions import InvalidInput, SchemaMismatch
from windlass.extras import require_ml

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# dtype names stored in manifests (numpy names, plus "string" for text columns).
_KINDS = {
    "b": "bool",
    "i": "integer",
    "u": "integer",
    "f": "float",
    "c": "complex",
    "M": "datetime",
    "m": "timedelta",
    "O": "string",
    "U": "string",
    "S": "bytes",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table signature: its name and dtype (``int64``, ``string``...)."""

    name: str
    dtype: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"name": self.name, "dtype": self.dtype}


@dataclass(frozen=True)
class Schema:
    """One side of a signature: columns (a table) or a tensor (dtype and shape)."""

    kind: str  # "columns" or "tensor"
    columns: list[ColumnSpec] = field(default_factory=list)
    dtype: str | None = None
    shape: list[int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        if self.kind == "columns":
            return {"type": "columns", "columns": [c.to_dict() for c in self.columns]}
        return {"type": "tensor", "dtype": self.dtype, "shape": self.shape}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        """Rebuild from :meth:`to_dict` output; a malformed dict is InvalidInput."""
        try:
            if data["type"] == "columns":
                return cls(
                    "columns",
                    [ColumnSpec(str(c["name"]), str(c["dtype"])) for c in data["columns"]],
                )
            if data["type"] == "tensor":
                return cls(
                    "tensor", dtype=str(data["dtype"]), shape=[int(d) for d in data["shape"]]
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"malformed signature schema: {exc!r}") from None
        raise InvalidInput(f"unknown signature schema type {data.get('type')!r}")

    def describe(self) -> str:
        """Return a one-line human description."""
        if self.kind == "columns":
            return ", ".join(f"{c.name}: {c.dtype}" for c in self.columns)
        return f"tensor {self.dtype} {self.shape}"


@dataclass(frozen=True)
class Signature:
    """What a model takes (``inputs``) and gives (``outputs``, may be unknown)."""

    inputs: Schema
    outputs: Schema | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "inputs": self.inputs.to_dict(),
            "outputs": None if self.outputs is None else self.outputs.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        """Rebuild from :meth:`to_dict` output."""
        if not isinstance(data, dict) or "inputs" not in data:
            raise InvalidInput("malformed signature: expected a mapping with 'inputs'")
        outputs = data.get("outputs")
        return cls(
            Schema.from_dict(data["inputs"]), None if outputs is None else Schema.from_dict(outputs)
        )


def _dtype_name(dtype: Any) -> str:
    import numpy as np

    try:
        np_dtype = np.dtype(dtype)
    except TypeError:
        # pandas extension dtypes: nullable numbers carry their numpy dtype; text does not.
        numpy_dtype = getattr(dtype, "numpy_dtype", None)
        if numpy_dtype is None or np.dtype(numpy_dtype).kind in "OUS":
            return "string"
        np_dtype = np.dtype(numpy_dtype)
    if np_dtype.kind in "OUS":
        return "string" if np_dtype.kind != "S" else "bytes"
    return str(np_dtype.name)


def as_frame(data: Any) -> pd.DataFrame | None:
    """Return ``data`` as a DataFrame if it is table-shaped (DataFrame, records, columns)."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, dict) and data:
        values = list(data.values())
        if all(isinstance(v, list | tuple) or hasattr(v, "__array__") for v in values):
            return pd.DataFrame(data)
        return pd.DataFrame([data])
    if isinstance(data, list | tuple) and data and all(isinstance(r, dict) for r in data):
        return pd.DataFrame(list(data))
    return None


def as_array(data: Any) -> np.ndarray[Any, Any]:
    """Return ``data`` as a numpy array (lists, tuples, arrays, tensors with ``__array__``)."""
    import numpy as np

    if hasattr(data, "detach") and hasattr(data, "cpu"):  # a torch tensor, maybe with grad
        data = data.detach().cpu().numpy()
    try:
        return np.asarray(data)
    except (ValueError, TypeError) as exc:
        raise SchemaMismatch(f"input cannot be read as an array: {exc}") from None


def infer_schema(data: Any) -> Schema:
    """Return the schema of an example: columns for table-shaped data, else a tensor."""
    frame = as_frame(data)
    if frame is not None:
        return Schema(
            "columns",
            [ColumnSpec(str(name), _dtype_name(frame[name].dtype)) for name in frame.columns],
        )
    array = as_array(data)
    if array.dtype.kind == "O":
        raise InvalidInput(
            "cannot infer a signature from an object array; pass a DataFrame, "
            "a numeric array or an explicit signature"
        )
    shape = [-1, *array.shape[1:]] if array.ndim >= 1 else []
    return Schema("tensor", dtype=_dtype_name(array.dtype), shape=[int(d) for d in shape])


def infer_signature(example: Any, output: Any = None) -> Signature:
    """Return the signature of a model from an input example (and its output, if known)."""
    require_ml("infer_signature")
    outputs = None
    if output is not None:
        try:
            outputs = infer_schema(output)
        except (InvalidInput, ValueError, TypeError):
            outputs = None  # an output we cannot describe is simply left unknown
    return Signature(infer_schema(example), outputs)


@functools.lru_cache(maxsize=256)
def dtype_kind(dtype_name: str) -> str:
    """Return the kind of a signature dtype: float, integer, bool, string, bytes, datetime..."""
    import numpy as np

    if dtype_name in ("string", "bytes"):
        return dtype_name
    return _KINDS.get(np.dtype(dtype_name).kind, "other")


def _convert_column(frame: pd.DataFrame, spec: ColumnSpec) -> Any:
    import numpy as np

    column = frame[spec.name]
    got = _dtype_name(column.dtype)
    if got == spec.dtype:
        return column
    want_kind, got_kind = dtype_kind(spec.dtype), dtype_kind(got)
    if want_kind == "string":
        if got_kind == "string":
            return column
        raise SchemaMismatch(
            f"column {spec.name!r} must be text (string), got {got}",
            column=spec.name,
            expected=spec.dtype,
            got=got,
        )
    if got_kind == "string":
        raise SchemaMismatch(
            f"column {spec.name!r} must be {spec.dtype}, got text values",
            column=spec.name,
            expected=spec.dtype,
            got=got,
        )
    want = np.dtype(spec.dtype)
    if np.can_cast(np.dtype(got), want, casting="safe") or (
        want_kind == "float" and got_kind in ("integer", "bool")
    ):
        return column.astype(want)
    if want_kind == "integer" and got_kind == "float" and column.isna().any():
        raise SchemaMismatch(
            f"column {spec.name!r} must be {spec.dtype} but has missing values",
            column=spec.name,
            expected=spec.dtype,
            got=got,
        )
    if want_kind == "integer" and got_kind in ("integer", "float"):
        info = np.iinfo(want)
        values = column.to_numpy()
        # Lossless only: whole numbers within the target's range (2.0 → 2, never 2.5).
        whole = got_kind == "integer" or bool(np.all(np.floor(values) == values))
        if len(column) == 0 or (whole and column.min() >= info.min and column.max() <= info.max):
            return column.astype(want)
    if want_kind == "float" and got_kind == "float":
        return column.astype(want)
    raise SchemaMismatch(
        f"column {spec.name!r} must be {spec.dtype}, got {got}",
        column=spec.name,
        expected=spec.dtype,
        got=got,
    )


def _enforce_columns(schema: Schema, data: Any) -> pd.DataFrame:
    import pandas as pd

    frame = as_frame(data)
    names = [c.name for c in schema.columns]
    if frame is None:
        array = as_array(data)
        if array.ndim == 2 and array.shape[1] == len(names):
            frame = pd.DataFrame(array, columns=names)
        else:
            raise SchemaMismatch(
                f"the model takes a table with columns {names}; got an array of shape "
                f"{list(array.shape)} (pass a DataFrame, a list of records or a dict of "
                "columns)",
                expected=names,
            )
    if list(frame.columns) == names and all(
        _dtype_name(dtype) == spec.dtype
        for dtype, spec in zip(frame.dtypes, schema.columns, strict=True)
    ):
        return frame  # the common case, already exact: no copy (this is on the scoring path)
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)  # a new frame: the caller's is never changed
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise SchemaMismatch(
            f"missing column(s) {missing}; the model takes {names}",
            column=missing[0],
            missing=missing,
        )
    extra = [c for c in frame.columns if c not in names]
    if extra:
        raise SchemaMismatch(
            f"unexpected column(s) {extra}; the model takes {names}", column=extra[0], extra=extra
        )
    converted = {spec.name: _convert_column(frame, spec) for spec in schema.columns}
    return pd.DataFrame(converted, index=frame.index)


def _enforce_tensor(schema: Schema, data: Any) -> np.ndarray[Any, Any]:
    import numpy as np

    frame = as_frame(data)
    array = frame.to_numpy() if frame is not None else as_array(data)
    shape = schema.shape or []
    if array.ndim != len(shape):
        raise SchemaMismatch(
            f"input must have {len(shape)} dimension(s) {shape}, got shape {list(array.shape)}",
            expected=shape,
            got=list(array.shape),
        )
    for axis, (want, got) in enumerate(zip(shape, array.shape, strict=True)):
        if want != -1 and want != got:
            raise SchemaMismatch(
                f"input dimension {axis} must be {want}, got {got} "
                f"(shape {list(array.shape)}, expected {shape})",
                axis=axis,
                expected=shape,
                got=list(array.shape),
            )
    want_dtype = np.dtype(schema.dtype or "float64")
    if array.dtype == want_dtype:
        return array
    got_kind, want_kind = _KINDS.get(array.dtype.kind), _KINDS.get(want_dtype.kind)
    if np.can_cast(array.dtype, want_dtype, casting="safe") or (
        want_kind == "float" and got_kind in ("integer", "bool", "float")
    ):
        return array.astype(want_dtype)
    raise SchemaMismatch(
        f"input must be {want_dtype.name}, got {array.dtype.name}",
        expected=want_dtype.name,
        got=array.dtype.name,
    )


def enforce(schema: Schema, data: Any) -> Any:
    """Return ``data`` converted to what ``schema`` describes, or raise SchemaMismatch."""
    if schema.kind == "columns":
        return _enforce_columns(schema, data)
    return _enforce_tensor(schema, data)


def records_to_columns(schema: Schema, records: Any) -> dict[str, Any] | None:
    """Return records as checked numpy columns, or None to take the general path.

    The fast path of model servers: a list of flat records with exactly the signature's
    keys and plain numeric, boolean or text values becomes one array per column without a
    DataFrame (the batch builds one DataFrame for all its requests). Anything else returns
    None, and :func:`enforce` handles it (and names what is wrong).
    """
    import numpy as np

    if schema.kind != "columns" or not isinstance(records, list) or not records:
        return None
    names = {c.name for c in schema.columns}
    for record in records:
        if type(record) is not dict or record.keys() != names:
            return None
    columns: dict[str, Any] = {}
    for spec in schema.columns:
        values = [record[spec.name] for record in records]
        kind = dtype_kind(spec.dtype)
        if kind == "string":
            if not all(type(v) is str for v in values):
                return None
            columns[spec.name] = np.array(values, dtype=object)
            continue
        if kind not in ("float", "integer", "bool"):
            return None
        try:
            array = np.array(values)
        except (ValueError, TypeError):
            return None
        got = _KINDS.get(array.dtype.kind)
        lossless = got == kind or (kind == "float" and got in ("integer", "bool"))
        if lossless:
            columns[spec.name] = array.astype(spec.dtype, copy=False)
        else:
            return None
    return columns


def float_matrix_columns(schema: Schema) -> list[str] | None:
    """Return the column names when every column of ``schema`` is float64, else None.

    Such a model can take its input as one 2-D float64 array in this column order: the
    model server's fastest path (see :func:`records_to_matrix`).
    """
    if schema.kind != "columns" or not schema.columns:
        return None
    if any(c.dtype != "float64" for c in schema.columns):
        return None
    return [c.name for c in schema.columns]


def records_to_matrix(names: list[str], records: Any) -> np.ndarray[Any, Any] | None:
    """Return flat records as one float64 array with columns ``names``, or None.

    Only for all-float64 signatures (:func:`float_matrix_columns`): every record must be a
    dict with exactly these keys and plain int, float or bool values (lossless to float64).
    Anything else returns None, and the general path checks it and names what is wrong.
    """
    import numpy as np

    if not isinstance(records, list) or not records:
        return None
    keys = set(names)
    for record in records:
        if type(record) is not dict or record.keys() != keys:
            return None
    try:
        # Inferred first, never forced: a forced float dtype would turn "1.5" into 1.5.
        array = np.array([[record[name] for name in names] for record in records])
    except (ValueError, TypeError):
        return None
    if array.dtype.kind not in "fiub" or array.ndim != 2:
        return None
    return array if array.dtype == np.float64 else array.astype(np.float64)
