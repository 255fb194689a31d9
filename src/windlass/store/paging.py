"""Opaque page tokens: the keyset position of the last row of a page, base64url JSON.

Every listing decodes its tokens here (:func:`decode_token`, :func:`decode_keyset`), so a
forged, damaged or foreign token is always :class:`~windlass.exceptions.InvalidPageToken`
(400 ``INVALID_PAGE_TOKEN``): never a database error, a recursion error or a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from windlass.exceptions import InvalidInput, InvalidPageToken

#: Longest page token accepted, in characters (a run search token holds its sort values).
MAX_PAGE_TOKEN_LENGTH = 1_048_576

_INT64 = 2**63
Scalar = str | int | float | None


def encode_token(position: dict[str, Any]) -> str:
    """Return an opaque token for a keyset position."""
    raw = json.dumps(position, separators=(",", ":"), allow_nan=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _fits(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int and -_INT64 <= value < _INT64
    if kind is str:
        return isinstance(value, str)
    if kind is list:
        return isinstance(value, list) and all(
            v is None or isinstance(v, str) or (type(v) in (int, float) and _fits_number(v))
            for v in value
        )
    return False


def _fits_number(value: int | float) -> bool:
    return -_INT64 <= value < _INT64 if type(value) is int else value == value


def _malformed(token: str) -> InvalidPageToken:
    return InvalidPageToken(f"malformed page_token {token[:40]!r}")


def decode_token(token: str, kind: str, fields: dict[str, type]) -> dict[str, Any]:
    """Decode a token made by :func:`encode_token` for listing ``kind``.

    ``fields`` names what the position must hold (``int`` = 64-bit integer, ``str``,
    ``list`` = a list of scalars); anything else raises InvalidPageToken, so a forged or
    damaged token is a clear 400, never a database error.
    """
    if not isinstance(token, str) or len(token) > MAX_PAGE_TOKEN_LENGTH:
        raise InvalidPageToken(
            f"page_token is longer than {MAX_PAGE_TOKEN_LENGTH} characters; it is not one "
            "this listing handed out",
            limit=MAX_PAGE_TOKEN_LENGTH,
        )
    try:
        padded = token + "=" * (-len(token) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        # RecursionError: deeply nested JSON ("[[[[..."), never a position we wrote.
        raise _malformed(token) from None
    if not isinstance(position, dict) or position.get("k") != kind:
        raise InvalidPageToken(f"page_token {token[:40]!r} does not belong to this listing")
    for name, field_type in fields.items():
        if not _fits(position.get(name), field_type):
            raise _malformed(token)
    return position


def decode_keyset(token: str, kind: str, types: Sequence[type]) -> list[Scalar]:
    """Decode the sort values of a keyset token: one value (or null) per sort expression.

    ``types`` holds the Python type of each sort expression (``int``, ``float``, ``str``;
    an ``int`` is accepted where a ``float`` is expected); a value of another type, or
    a list of another length, raises InvalidPageToken.
    """
    values: list[Scalar] = decode_token(token, kind, {"v": list})["v"]
    if len(values) != len(types):
        raise _malformed(token)
    for value, expected in zip(values, types, strict=True):
        if value is None:
            continue
        if expected is float:
            fits = type(value) in (int, float)
        elif expected is int:
            fits = type(value) is int
        elif expected is str:
            fits = isinstance(value, str)
        else:  # a sort expression of no known Python type: any scalar
            fits = True
        if not fits:
            raise _malformed(token)
    return values


def check_max_results(max_results: int, limit: int) -> None:
    """Raise InvalidInput unless ``1 <= max_results <= limit``."""
    if not 1 <= max_results <= limit:
        raise InvalidInput(
            f"max_results must be between 1 and {limit}, got {max_results}", max_results=max_results
        )
