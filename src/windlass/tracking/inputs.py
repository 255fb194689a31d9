"""Describe a dataset a run read: a content digest, its row count and column types.

The digest identifies the data, not the object: the same rows and columns give the same
digest whether they come from a DataFrame, a file or a folder, run after run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from windlass.entities import DatasetInput
from windlass.exceptions import InvalidInput
from windlass.extras import require


def _blake3() -> Any:
    from blake3 import blake3

    return blake3()


def _describe_frame(frame: Any) -> tuple[str, int, dict[str, str]]:
    import pandas as pd

    hasher = _blake3()
    hasher.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    hasher.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return hasher.hexdigest(), len(frame), {str(c): str(t) for c, t in frame.dtypes.items()}


def _describe_array(array: Any) -> tuple[str, int, dict[str, str]]:
    np = require("numpy", extra="ml", feature="log_input of an array")

    array = np.ascontiguousarray(array)
    if array.dtype.kind == "O":
        raise InvalidInput("cannot digest an object array; pass a DataFrame or a file")
    hasher = _blake3()
    hasher.update(f"{array.dtype.str}{array.shape}".encode())
    hasher.update(memoryview(array).cast("B"))
    rows = int(array.shape[0]) if array.ndim else 1
    return hasher.hexdigest(), rows, {"array": f"{array.dtype.name}{list(array.shape[1:])}"}


def _describe_path(path: Path) -> tuple[str, int | None, dict[str, str]]:
    from windlass.artifacts.hashing import hash_file
    from windlass.artifacts.paths import walk_local

    if path.is_file():
        return hash_file(path)[0], None, {}
    hasher = _blake3()
    for file, rel in walk_local(path):
        hasher.update(f"{rel}\0{hash_file(file)[0]}\n".encode())
    return hasher.hexdigest(), None, {}


def describe_input(
    data: Any, name: str, *, context: str = "training", source: str | None = None
) -> DatasetInput:
    """Return a :class:`DatasetInput` for a DataFrame, an array, or a file or folder path.

    Files and folders need nothing beyond the core install; arrays need numpy and
    DataFrames pandas (``windlass[ml]``).
    """
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.exists():
            raise InvalidInput(
                f"dataset input {name!r}: no file or folder at {path}", path=str(path)
            )
        digest, rows, schema = _describe_path(path)
        return DatasetInput(name, digest, context, source or str(path.resolve()), rows, schema)
    # A DataFrame exists only if pandas was imported: never import it just to check.
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, pd.Series):
        data = data.to_frame()
    if pd is not None and isinstance(data, pd.DataFrame):
        digest, rows, schema = _describe_frame(data)
    else:
        digest, count, schema = _describe_array(data)
        rows = count
    return DatasetInput(name, digest, context, source or "", rows, schema)
