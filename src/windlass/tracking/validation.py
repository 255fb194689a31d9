"""Checks on names, keys and values before they reach a store (one clear error each)."""

from __future__ import annotations

import math
import re
from typing import Any

from windlass.exceptions import InvalidInput

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_NAME_LENGTH = 256
_INT64 = 2**63

_PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,255}$")
_KEY = re.compile(r"^[A-Za-z0-9_\-./ :]+$")


def project_name(name: Any) -> str:
    """Return a valid project name or raise InvalidInput."""
    if not isinstance(name, str) or not _PROJECT_NAME.match(name):
        raise InvalidInput(
            f"invalid project name {name!r}: use 1-256 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit", name=str(name))
    return name


def run_name(name: Any) -> str:
    """Return a valid run name (printable, at most 256 characters) or raise InvalidInput."""
    if not isinstance(name, str):
        raise InvalidInput(f"run name must be a string, got {type(name).__name__}")
    if len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise InvalidInput(f"invalid run name {name[:40]!r}: at most {MAX_NAME_LENGTH} "
                           "printable characters", name=name[:300])
    return name


def key(kind: str, value: Any) -> str:
    """Return a valid metric/param/tag key or raise InvalidInput naming it."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{kind} key must be a non-empty string, got {value!r}")
    if len(value) > MAX_KEY_LENGTH or not _KEY.match(value):
        raise InvalidInput(
            f"invalid {kind} key {value[:60]!r}: at most {MAX_KEY_LENGTH} letters, digits, "
            "spaces or '_-./:'", key=value[:300])
    return value


def _text(kind: str, name: str, value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidInput(f"{kind} {name!r} value has {len(text)} characters; the limit is "
                           f"{limit}", key=name)
    return text


def param_value(name: str, value: Any) -> str:
    """Return a param's value as text (at most 6000 characters) or raise InvalidInput."""
    return _text("param", name, value, MAX_PARAM_VALUE_LENGTH)


def tag_value(name: str, value: Any) -> str:
    """Return a tag's value as text (at most 8000 characters) or raise InvalidInput."""
    return _text("tag", name, value, MAX_TAG_VALUE_LENGTH)


def metric_value(name: str, value: Any) -> float:
    """Return a metric value as float (NaN and ±inf allowed) or raise InvalidInput."""
    if isinstance(value, (bool, str, bytes)):
        raise InvalidInput(f"metric {name!r} value must be a number, got {value!r}", key=name)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"metric {name!r} value must be a number, got {value!r}",
                           key=name) from None


def step(name: str, value: Any) -> int:
    """Return a metric step as a 64-bit integer or raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int) or not -_INT64 <= value < _INT64:
        if isinstance(value, float) and value.is_integer():
            return step(name, int(value))
        raise InvalidInput(f"metric {name!r} step must be an integer, got {value!r}", key=name)
    return value


def timestamp(name: str, value: Any) -> int:
    """Return a timestamp in integer milliseconds or raise InvalidInput."""
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _INT64:
        raise InvalidInput(f"metric {name!r} timestamp must be integer milliseconds, "
                           f"got {value!r}", key=name)
    return value
