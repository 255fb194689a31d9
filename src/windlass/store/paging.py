"""Opaque page tokens: the keyset position of the last row of a page, base64url JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

from windlass.exceptions import InvalidInput, InvalidPageToken


def encode_token(position: dict[str, Any]) -> str:
    """Return an opaque token for a keyset position."""
    raw = json.dumps(position, separators=(",", ":"), allow_nan=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_INT64 = 2**63
Scalar = str | int | float | None


def _fits(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int and -_INT64 <= value < _INT64
    if kind is str:
        return isinstance(value, str)
    if kind is list:
        return isinstance(value, list) and all(
            v is None or isinstance(v, str) or (type(v) in (int, float) and _fits_number(v))
            for v in value)
    return False


def _fits_number(value: int | float) -> bool:
    return -_INT64 <= value < _INT64 if type(value) is int else value == value


def decode_token(token: str, kind: str, fields: dict[str, type]) -> dict[str, Any]:
    """Decode a token made by :func:`encode_token` for listing ``kind``.

    ``fields`` names what the position must hold (``int`` = 64-bit integer, ``str``,
    ``list`` = a list of scalars); anything else raises InvalidInput, so a forged or
    damaged token is a clear 400, never a database error.
    """
    malformed = InvalidPageToken(f"malformed page_token {token[:40]!r}")
    try:
        padded = token + "=" * (-len(token) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise malformed from None
    if not isinstance(position, dict) or position.get("k") != kind:
        raise InvalidPageToken(f"page_token {token[:40]!r} does not belong to this listing")
    for name, field_type in fields.items():
        if not _fits(position.get(name), field_type):
            raise malformed
    return position


def check_max_results(max_results: int, limit: int) -> None:
    """Raise InvalidInput unless ``1 <= max_results <= limit``."""
    if not 1 <= max_results <= limit:
        raise InvalidInput(f"max_results must be between 1 and {limit}, got {max_results}",
                           max_results=max_results)
