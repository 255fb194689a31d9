"""Plain JSON data: what a free-form field (run source's system, prompt model settings) may hold.

Strings, booleans, null, 64-bit integers, finite floats, lists and string-keyed mappings,
nested at most :data:`MAX_JSON_DEPTH` deep: what every store can write and every reader can
read back. Anything else is InvalidInput naming where it was found.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from windlass.exceptions import InvalidInput

__all__ = ["MAX_JSON_DEPTH", "plain_json"]

#: How deep free-form JSON may nest.
MAX_JSON_DEPTH = 32
_INT64 = 2**63


def plain_json(where: str, value: Any, depth: int = 0) -> Any:
    """Return ``value`` as plain JSON data (lists for tuples), or raise naming ``where``."""
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(f"{where} nests deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise InvalidInput(f"{where} holds {value}, beyond a 64-bit integer")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{where} holds {value}, which JSON cannot hold")
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{where} has key {key!r}: keys must be strings")
            out[key] = plain_json(f"{where}[{key!r}]", item, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [plain_json(f"{where}[{i}]", item, depth + 1) for i, item in enumerate(value)]
    raise InvalidInput(
        f"{where} holds a {type(value).__name__}, not JSON data "
        "(strings, numbers, booleans, null, lists, mappings)"
    )
