"""Request and response bodies of ``POST /predict``: JSON records, columns, arrays, or CSV.

A request is checked against the model's signature before it joins a batch, so a bad row
is answered to its own caller (400, naming the field) and never spoils a batch. Outputs are
split back per request by row counts and turned into plain JSON.
"""

from __future__ import annotations

import io
from typing import Any

import orjson

from windlass.exceptions import InvalidInput, SchemaMismatch


def parse_body(body: bytes) -> Any:
    """Return a JSON request body decoded (InvalidInput if it is not JSON)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from None


def parse_json(body: bytes) -> Any:
    """Return the ``inputs`` of a JSON ``/predict`` body (records, columns or arrays)."""
    data = parse_body(body)
    if not isinstance(data, dict) or "inputs" not in data:
        raise InvalidInput(
            'request body must be a JSON object with "inputs": a list of '
            "records, an object of columns, or a list of rows"
        )
    extra = set(data) - {"inputs", "params"}
    if extra:
        raise InvalidInput(
            f"unknown field(s) {sorted(extra)} in the request body", fields=sorted(extra)
        )
    inputs = data["inputs"]
    if not isinstance(inputs, list | dict) or not inputs:
        raise InvalidInput(
            '"inputs" must be a non-empty list of records or rows, or an object of columns',
            field="inputs",
        )
    return inputs


def parse_csv(body: bytes) -> Any:
    """Return a CSV body (a header row, then rows) as a DataFrame."""
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidInput(f"request body is not valid CSV: {exc}") from None
    if frame.empty:
        raise InvalidInput("the CSV body has no rows")
    return frame


class ColumnBatch(dict[str, Any]):
    """A request's checked input as numpy columns (the server's fast path for records)."""

    def __len__(self) -> int:
        return len(next(iter(self.values()))) if dict.__len__(self) else 0


def row_count(prepared: Any) -> int:
    """Return how many rows a prepared input holds."""
    return len(prepared)


def combine(parts: list[Any]) -> Any:
    """Concatenate prepared inputs (DataFrames, column batches or arrays) into one batch."""
    first = parts[0]
    if isinstance(first, ColumnBatch):
        import numpy as np
        import pandas as pd

        if len(parts) == 1:
            return pd.DataFrame(dict(first), copy=False)
        return pd.DataFrame(
            {name: np.concatenate([p[name] for p in parts]) for name in first}, copy=False
        )
    if len(parts) == 1:
        return first
    if hasattr(first, "iloc"):
        import pandas as pd

        return pd.concat(parts, ignore_index=True)
    import numpy as np

    return np.concatenate(parts, axis=0)


def split(output: Any, counts: list[int]) -> list[Any]:
    """Split a batch's output into one part per request, by row counts."""
    if len(counts) == 1:
        return [output]
    parts: list[Any] = []
    start = 0
    if isinstance(output, dict):
        for count in counts:
            parts.append({k: v[start : start + count] for k, v in output.items()})
            start += count
        return parts
    rows = output.iloc if hasattr(output, "iloc") else output
    total = len(output)
    if total != sum(counts):
        raise SchemaMismatch(f"the model returned {total} rows for {sum(counts)} inputs")
    for count in counts:
        parts.append(rows[start : start + count])
        start += count
    return parts


def to_jsonable(output: Any) -> Any:
    """Return a model output as plain JSON data (lists, dicts of lists, scalars)."""
    if hasattr(output, "to_dict") and hasattr(output, "columns"):
        return output.to_dict(orient="records")
    if hasattr(output, "tolist"):
        return output.tolist()
    if isinstance(output, dict):
        return {k: to_jsonable(v) for k, v in output.items()}
    return output


def dumps(data: Any) -> bytes:
    """Encode a response body (numpy values and NaN handled)."""
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
