"""Checks on names, keys and values before they reach a store (one clear error each)."""

from __future__ import annotations

import math
import re
from typing import Any

from windlass.entities import DatasetInput
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
            "starting with a letter or digit",
            name=str(name),
        )
    return name


def run_name(name: Any) -> str:
    """Return a valid run name (printable, at most 256 characters) or raise InvalidInput."""
    if not isinstance(name, str):
        raise InvalidInput(f"run name must be a string, got {type(name).__name__}")
    if len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise InvalidInput(
            f"invalid run name {name[:40]!r}: at most {MAX_NAME_LENGTH} printable characters",
            name=name[:300],
        )
    return name


def key(kind: str, value: Any) -> str:
    """Return a valid metric/param/tag key or raise InvalidInput naming it."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{kind} key must be a non-empty string, got {value!r}")
    if len(value) > MAX_KEY_LENGTH or not _KEY.match(value):
        raise InvalidInput(
            f"invalid {kind} key {value[:60]!r}: at most {MAX_KEY_LENGTH} letters, digits, "
            "spaces or '_-./:'",
            key=value[:300],
        )
    return value


def _text(kind: str, name: str, value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidInput(
            f"{kind} {name!r} value has {len(text)} characters; the limit is {limit}", key=name
        )
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
        raise InvalidInput(
            f"metric {name!r} value must be a number, got {value!r}", key=name
        ) from None


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
        raise InvalidInput(
            f"metric {name!r} timestamp must be integer milliseconds, got {value!r}", key=name
        )
    return value


MAX_DIGEST_LENGTH = 128
MAX_CONTEXT_LENGTH = 64
MAX_SOURCE_LENGTH = 10_000
MAX_SCHEMA_COLUMNS = 10_000
_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,255}$")
_CONTEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_DIGEST_TEXT = re.compile(r"^[\x21-\x7e]{1,128}$")


def dataset_input(data: Any) -> DatasetInput:
    """Return a valid dataset input of a run, or raise InvalidInput naming what is wrong."""
    if not isinstance(data, DatasetInput):
        raise InvalidInput(f"a run input must be a DatasetInput, got {type(data).__name__}")
    name = data.name
    if not isinstance(name, str) or not _DATASET_NAME.match(name):
        raise InvalidInput(
            f"invalid dataset name {name!r}: use 1-256 letters, digits, '_', "
            "'-' or '.', starting with a letter or digit",
            name=str(name)[:300],
        )
    if not isinstance(data.digest, str) or not _DIGEST_TEXT.match(data.digest):
        raise InvalidInput(
            f"dataset {name!r} has digest {str(data.digest)[:80]!r}: 1-"
            f"{MAX_DIGEST_LENGTH} printable characters without spaces",
            name=name,
        )
    if not isinstance(data.context, str) or not _CONTEXT.match(data.context):
        raise InvalidInput(
            f"dataset {name!r} has context {str(data.context)[:80]!r}: 1-"
            f"{MAX_CONTEXT_LENGTH} letters, digits, '_', '-' or '.'",
            name=name,
        )
    if (
        not isinstance(data.source, str)
        or len(data.source) > MAX_SOURCE_LENGTH
        or "\x00" in data.source
    ):
        raise InvalidInput(
            f"dataset {name!r} source must be text of at most {MAX_SOURCE_LENGTH} characters",
            name=name,
        )
    rows = data.rows
    if rows is not None and (
        isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows < _INT64
    ):
        raise InvalidInput(
            f"dataset {name!r} rows must be a non-negative integer, got {rows!r}", name=name
        )
    schema = data.schema
    if (
        not isinstance(schema, dict)
        or len(schema) > MAX_SCHEMA_COLUMNS
        or not all(
            isinstance(k, str)
            and isinstance(t, str)
            and 0 < len(k) <= 1024
            and len(t) <= MAX_NAME_LENGTH
            and "\x00" not in k + t
            for k, t in schema.items()
        )
    ):
        raise InvalidInput(
            f"dataset {name!r} schema must map at most {MAX_SCHEMA_COLUMNS} "
            "column names (1-1024 characters) to dtype names (at most "
            f"{MAX_NAME_LENGTH} characters)",
            name=name,
        )
    return data
