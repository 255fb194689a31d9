"""The Open Inference Protocol (KServe V2) REST bodies: tensors in, tensors out.

A V2 request carries named tensors (``name``, ``shape``, ``datatype``, flat ``data``). For
a table model each input tensor is a column (shape ``[n]`` or ``[n, 1]``); for a tensor
model one input holds the whole array. Outputs come back the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from windlass.exceptions import InvalidInput, SchemaMismatch
from windlass.models.signature import Schema, dtype_kind
from windlass.serving.validation import cell_problem

_NUMPY_BY_V2 = {
    "BOOL": "bool",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
_V2_BY_NUMPY = {v: k for k, v in _NUMPY_BY_V2.items()}
#: The datatypes a V2 request may name.
V2_DATATYPES = tuple(_NUMPY_BY_V2)


_KIND_BY_V2 = {
    "BOOL": "bool",
    "BYTES": "string",
    **{
        t: "integer"
        for t in ("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64")
    },
    **{t: "float" for t in ("FP16", "FP32", "FP64")},
}
#: Which V2 datatypes a signature column of each kind takes.
_ACCEPTED = {
    "float": ("float", "integer"),
    "integer": ("integer",),
    "bool": ("bool",),
    "string": ("string",),
    "bytes": ("string",),
}
#: Deepest nesting of a tensor's ``data`` (row-major nested lists) that is read.
MAX_DATA_DEPTH = 32


def v2_datatype(dtype_name: str) -> str:
    """Return the V2 datatype of a numpy or signature dtype name (text is ``BYTES``)."""
    return _V2_BY_NUMPY.get(dtype_name, "BYTES")


@dataclass(frozen=True)
class Tensor:
    """One checked input tensor of a V2 request: name, shape, datatype, flat data."""

    name: str
    shape: list[int]
    datatype: str
    data: list[Any]

    @property
    def rows(self) -> int:
        """Return the length of the first axis (1 for a scalar)."""
        return self.shape[0] if self.shape else 1

    def row_of(self, index: int) -> int:
        """Return the row (first-axis index) of the ``index``-th flat element."""
        inner = math.prod(self.shape[1:])
        return index // inner if inner else 0


def _flatten(data: list[Any], where: str) -> list[Any]:
    """Return row-major nested lists as one flat list (iteratively: depth is bounded)."""
    flat: list[Any] = []
    stack: list[tuple[list[Any], int]] = [(data, 0)]
    while stack:
        items, start = stack.pop()
        for position in range(start, len(items)):
            item = items[position]
            if isinstance(item, list):
                if len(stack) + 1 >= MAX_DATA_DEPTH:
                    raise InvalidInput(
                        f"{where}: data is nested deeper than {MAX_DATA_DEPTH} levels", field=where
                    )
                stack.append((items, position + 1))
                stack.append((item, 0))
                break
            flat.append(item)
    return flat


def _tensor(spec: Any, index: int) -> Tensor:
    if not isinstance(spec, dict):
        raise InvalidInput(f"inputs[{index}] must be an object", field=f"inputs[{index}]")
    name, shape, datatype, data = (
        spec.get("name"),
        spec.get("shape"),
        spec.get("datatype"),
        spec.get("data"),
    )
    where = f"inputs[{index}]" if not isinstance(name, str) else f"input {name!r}"
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{where} needs a name", field=where)
    if (
        not isinstance(shape, list)
        or not all(type(d) is int and d >= 0 for d in shape)
        or len(shape) > MAX_DATA_DEPTH
    ):
        raise InvalidInput(f"{where} needs a shape: a list of non-negative integers", field=name)
    if not isinstance(datatype, str) or datatype not in _NUMPY_BY_V2:
        raise InvalidInput(
            f"{where} has datatype {datatype!r}; expected one of {', '.join(_NUMPY_BY_V2)}",
            field=name,
        )
    if not isinstance(data, list):
        raise InvalidInput(f"{where} needs data: a (flat or nested) list", field=name)
    flat = _flatten(data, where)
    tensor = Tensor(name, shape, datatype, flat)
    if len(flat) != math.prod(shape):
        row = tensor.row_of(min(len(flat), math.prod(shape)))
        raise InvalidInput(
            f"{where}, row {row}: shape {shape} holds {math.prod(shape)} "
            f"value(s) but data has {len(flat)}",
            field=name,
            row=row,
            shape=shape,
            values=len(flat),
        )
    kind, dtype = _KIND_BY_V2[datatype], _NUMPY_BY_V2[datatype]
    for position, value in enumerate(flat):
        problem = cell_problem(kind, dtype, value)
        if problem is not None:
            row = tensor.row_of(position)
            raise SchemaMismatch(
                f"{where}, row {row} (element {position}): {problem} for datatype {datatype}",
                field=name,
                row=row,
            )
    return tensor


def _check_columns(tensors: list[Tensor], schema: Schema) -> None:
    specs = {c.name: c for c in schema.columns}
    given = [t.name for t in tensors]
    unknown = [n for n in given if n not in specs]
    if unknown:
        raise SchemaMismatch(
            f"unknown input(s) {unknown}; the model takes {list(specs)}", field=unknown[0]
        )
    missing = [n for n in specs if n not in given]
    if missing:
        raise SchemaMismatch(
            f"missing input(s) {missing}; the model takes {list(specs)}", field=missing[0]
        )
    first = tensors[0]
    for tensor in tensors:
        spec = specs[tensor.name]
        want = dtype_kind(spec.dtype)
        if want in _ACCEPTED and _KIND_BY_V2[tensor.datatype] not in _ACCEPTED[want]:
            raise SchemaMismatch(
                f"input {tensor.name!r} has datatype {tensor.datatype}; the "
                f"model takes {spec.dtype} ({v2_datatype(spec.dtype)})",
                field=tensor.name,
                expected=v2_datatype(spec.dtype),
                got=tensor.datatype,
            )
        if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
            raise SchemaMismatch(
                f"input {tensor.name!r} is a column: give it shape [n] or "
                f"[n, 1], not {tensor.shape}",
                field=tensor.name,
            )
        if tensor.rows != first.rows:
            raise SchemaMismatch(
                f"input {tensor.name!r}, row {min(tensor.rows, first.rows)}: "
                f"inputs differ in length: {first.name!r} has {first.rows} "
                f"rows, {tensor.name!r} has {tensor.rows}",
                field=tensor.name,
                row=min(tensor.rows, first.rows),
            )
    if not first.rows:
        raise SchemaMismatch("the inputs hold no rows", field=first.name)


def is_request_id(value: Any) -> bool:
    """Tell whether a V2 request ``id`` can be echoed back (also as ``X-Request-Id``)."""
    return (
        isinstance(value, str) and 0 < len(value) <= 128 and value.isascii() and value.isprintable()
    )


def decode_request(body: Any, schema: Schema | None) -> Any:
    """Return the model input of a V2 infer request (a dict of columns or an array).

    Every tensor is checked first: its data against its shape and datatype, and, for a
    table model, its name and datatype against the signature's columns (a 400 naming the
    input and the row, see :mod:`windlass.serving.validation`).
    """
    import numpy as np

    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
        raise InvalidInput(
            'a V2 infer request needs "inputs": a non-empty list of tensors', field="inputs"
        )
    tensors = [_tensor(spec, i) for i, spec in enumerate(body["inputs"])]
    names = [t.name for t in tensors]
    if len(set(names)) != len(names):
        raise InvalidInput(f"input names must be unique, got {names}", field="inputs")
    if schema is not None and schema.kind == "columns":
        _check_columns(tensors, schema)
        return {t.name: np.asarray(t.data, dtype=_NUMPY_BY_V2[t.datatype]) for t in tensors}
    arrays = {
        t.name: np.asarray(t.data, dtype=_NUMPY_BY_V2[t.datatype]).reshape(t.shape) for t in tensors
    }
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    return arrays


def encode_response(
    output: Any, *, model_name: str, model_version: str, request_id: str
) -> dict[str, Any]:
    """Return a V2 infer response for a model output (array, DataFrame or dict of arrays)."""
    import numpy as np

    named: dict[str, Any]
    if isinstance(output, dict):
        named = output
    elif hasattr(output, "columns"):
        named = {str(c): output[c].to_numpy() for c in output.columns}
    else:
        named = {"predict": output}
    outputs = []
    for name, value in named.items():
        array = np.asarray(value)
        datatype = v2_datatype(array.dtype.name) if array.dtype.kind not in "OUS" else "BYTES"
        data = array.reshape(-1).tolist()
        outputs.append(
            {"name": name, "shape": list(array.shape), "datatype": datatype, "data": data}
        )
    return {
        "model_name": model_name,
        "model_version": model_version,
        "id": request_id,
        "outputs": outputs,
    }


def metadata(
    name: str, version: str, platform: str, inputs: Schema | None, outputs: Schema | None
) -> dict[str, Any]:
    """Return the V2 model metadata document."""

    def tensors(schema: Schema | None) -> list[dict[str, Any]]:
        if schema is None:
            return []
        if schema.kind == "columns":
            return [
                {"name": c.name, "datatype": v2_datatype(c.dtype), "shape": [-1]}
                for c in schema.columns
            ]
        return [
            {
                "name": "input-0" if schema is inputs else "predict",
                "datatype": v2_datatype(schema.dtype or "float64"),
                "shape": schema.shape or [-1],
            }
        ]

    return {
        "name": name,
        "versions": [version] if version else [],
        "platform": platform,
        "inputs": tensors(inputs),
        "outputs": tensors(outputs),
    }
