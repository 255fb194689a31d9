"""The Open Inference Protocol (KServe V2) REST bodies: tensors in, tensors out.

A V2 request carries named tensors (``name``, ``shape``, ``datatype``, flat ``data``). For
a table model each input tensor is a column (shape ``[n]`` or ``[n, 1]``); for a tensor
model one input holds the whole array. Outputs come back the same way.
"""

from __future__ import annotations

from typing import Any

from windlass.exceptions import InvalidInput
from windlass.models.signature import Schema

_NUMPY_BY_V2 = {"BOOL": "bool", "INT8": "int8", "INT16": "int16", "INT32": "int32",
                "INT64": "int64", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
                "UINT64": "uint64", "FP16": "float16", "FP32": "float32", "FP64": "float64",
                "BYTES": "object"}
_V2_BY_NUMPY = {v: k for k, v in _NUMPY_BY_V2.items()}


def v2_datatype(dtype_name: str) -> str:
    """Return the V2 datatype of a numpy or signature dtype name (text is ``BYTES``)."""
    return _V2_BY_NUMPY.get(dtype_name, "BYTES")


def _tensor(spec: Any, index: int) -> tuple[str, list[int], str, list[Any]]:
    if not isinstance(spec, dict):
        raise InvalidInput(f"inputs[{index}] must be an object", field=f"inputs[{index}]")
    name, shape, datatype, data = (spec.get("name"), spec.get("shape"), spec.get("datatype"),
                                   spec.get("data"))
    where = f"inputs[{index}]" if not isinstance(name, str) else f"input {name!r}"
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{where} needs a name", field=where)
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise InvalidInput(f"{where} needs a shape: a list of non-negative integers",
                           field=where)
    if datatype not in _NUMPY_BY_V2:
        raise InvalidInput(f"{where} has datatype {datatype!r}; expected one of "
                           f"{', '.join(_NUMPY_BY_V2)}", field=where)
    if not isinstance(data, list):
        raise InvalidInput(f"{where} needs data: a (flat or nested) list", field=where)
    return name, shape, datatype, data


def decode_request(body: Any, schema: Schema | None) -> Any:
    """Return the model input of a V2 infer request (a dict of columns or an array)."""
    import numpy as np

    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) \
            or not body["inputs"]:
        raise InvalidInput('a V2 infer request needs "inputs": a non-empty list of tensors',
                           field="inputs")
    tensors = [_tensor(spec, i) for i, spec in enumerate(body["inputs"])]
    arrays: dict[str, Any] = {}
    for name, shape, datatype, data in tensors:
        try:
            array = np.asarray(data, dtype=_NUMPY_BY_V2[datatype])
            array = array.reshape(shape)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"input {name!r}: data does not fit shape {shape} and datatype "
                               f"{datatype}: {exc}", field=name) from None
        arrays[name] = array
    if schema is not None and schema.kind == "columns":
        columns = {}
        for name, array in arrays.items():
            if array.ndim == 2 and array.shape[1] == 1:
                array = array[:, 0]
            if array.ndim != 1:
                raise InvalidInput(f"input {name!r} is a column: give it shape [n] or [n, 1]",
                                   field=name)
            columns[name] = array
        return columns
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    return arrays


def encode_response(output: Any, *, model_name: str, model_version: str,
                    request_id: str) -> dict[str, Any]:
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
        outputs.append({"name": name, "shape": list(array.shape), "datatype": datatype,
                        "data": data})
    return {"model_name": model_name, "model_version": model_version, "id": request_id,
            "outputs": outputs}


def metadata(name: str, version: str, platform: str, inputs: Schema | None,
             outputs: Schema | None) -> dict[str, Any]:
    """Return the V2 model metadata document."""
    def tensors(schema: Schema | None) -> list[dict[str, Any]]:
        if schema is None:
            return []
        if schema.kind == "columns":
            return [{"name": c.name, "datatype": v2_datatype(c.dtype), "shape": [-1]}
                    for c in schema.columns]
        return [{"name": "input-0" if schema is inputs else "predict",
                 "datatype": v2_datatype(schema.dtype or "float64"),
                 "shape": schema.shape or [-1]}]

    return {"name": name, "versions": [version] if version else [], "platform": platform,
            "inputs": tensors(inputs), "outputs": tensors(outputs)}
