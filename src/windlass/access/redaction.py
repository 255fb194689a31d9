"""What an audit record may hold of a state: JSON-safe, secrets redacted, size bounded.

:func:`audit_json` turns whatever a domain service hands the audit trail (entities,
dataclasses, mappings, lists, numbers) into a JSON value that can always be stored and read
back:

- entities become their ``to_dict()``, other dataclasses their fields, enums their value,
  tuples and sets lists, bytes a size, anything else its ``str``; NaN and the infinities
  become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (as in the REST API);
- the value of every key that names a secret (:data:`SECRET_KEY`: password, secret,
  token, api key, authorization, credential(s), private key; any case) is ``"[redacted]"``,
  and so is every string that looks like a windlass API token (``wl_...``), wherever it is;
- nesting deeper than :data:`MAX_AUDIT_DEPTH` is cut (``"[too deep]"``), and a state whose
  JSON is longer than :data:`MAX_AUDIT_JSON_BYTES` is stored as a summary marked
  ``"truncated": true`` with its size, SHA-256 and top-level keys.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

import orjson

__all__ = [
    "MAX_AUDIT_DEPTH",
    "MAX_AUDIT_JSON_BYTES",
    "REDACTED",
    "SECRET_KEY",
    "audit_json",
]

#: The longest JSON (UTF-8 bytes) kept of one side (before or after) of an audit record.
MAX_AUDIT_JSON_BYTES = 64 * 1024
#: The deepest nesting kept; deeper values become ``"[too deep]"``.
MAX_AUDIT_DEPTH = 32
#: What a secret is replaced with.
REDACTED = "[redacted]"
#: Keys whose values are secrets. ``token`` counts, ``tokens`` does not: ``max_tokens``
#: and ``prompt_tokens`` are counts of LLM tokens, not credentials.
SECRET_KEY = re.compile(
    r"passw(or)?d|secret|token(?!s)|api[_\-]?key|authori[sz]ation|credential|private[_\-]?key",
    re.IGNORECASE,
)
#: The prefix of windlass API tokens: such a string is a secret wherever it appears.
TOKEN_PREFIX = "wl_"  # noqa: S105 - a prefix to look for, not a secret
_INT64 = 2**63
#: Top-level keys listed in the summary of a truncated state.
_SUMMARY_KEYS = 100


def _text(value: str) -> str:
    """Return ``value`` as valid UTF-8 text (a lone surrogate cannot be stored as JSON)."""
    if type(value) is str and value.isascii():
        return value
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode()
    return str(value)


@functools.lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    """Return whether ``key`` names a secret (keys repeat: each is matched once)."""
    return SECRET_KEY.search(key) is not None


def _number(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _safe(value: Any, depth: int) -> Any:
    """Return ``value`` as plain JSON, secrets redacted (see the module docstring)."""
    kind = type(value)
    if kind is str:  # the common cases first, by exact type
        return REDACTED if value.startswith(TOKEN_PREFIX) else _text(value)
    if value is None or kind is bool:
        return value
    if kind is dict and depth < MAX_AUDIT_DEPTH:
        return {
            _text(str(k)): REDACTED if _secret_key(str(k)) else _safe(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, Enum):
        return _safe(value.value, depth)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value) if -_INT64 <= value < _INT64 else str(value)
    if isinstance(value, float):
        return _number(float(value))
    if isinstance(value, str):
        return REDACTED if value.startswith(TOKEN_PREFIX) else _text(value)
    if depth >= MAX_AUDIT_DEPTH:
        return "[too deep]"
    if isinstance(value, Mapping):
        return {
            _text(str(k)): REDACTED if _secret_key(str(k)) else _safe(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [_safe(v, depth + 1) for v in items]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, datetime | date):
        return value.isoformat()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _safe(to_dict(), depth)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return _safe(fields, depth)
    return _safe(str(value), depth)


def _summary(value: Any, raw: bytes) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "truncated": True,
        "bytes": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    if isinstance(value, dict):
        summary["keys"] = [k[:256] for k in list(value)[:_SUMMARY_KEYS]]
        summary["key_count"] = len(value)
    elif isinstance(value, list):
        summary["length"] = len(value)
    return summary


def audit_json(value: Any) -> Any:
    """Return ``value`` as a bounded, redacted JSON value for an audit record (None stays None)."""
    if value is None:
        return None
    safe = _safe(value, 0)
    raw = orjson.dumps(safe)
    if len(raw) <= MAX_AUDIT_JSON_BYTES:
        return safe
    return _summary(safe, raw)
