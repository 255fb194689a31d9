"""Opaque page tokens: the keyset position of the last row of a page, base64url JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

from windlass.exceptions import InvalidInput


def encode_token(position: dict[str, Any]) -> str:
    """Return an opaque token for a keyset position."""
    raw = json.dumps(position, separators=(",", ":"), allow_nan=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, kind: str) -> dict[str, Any]:
    """Decode a token made by :func:`encode_token` for listing ``kind``, or raise InvalidInput."""
    try:
        padded = token + "=" * (-len(token) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"malformed page_token {token[:40]!r}") from None
    if not isinstance(position, dict) or position.get("k") != kind:
        raise InvalidInput(f"page_token {token[:40]!r} does not belong to this listing")
    return position


def check_max_results(max_results: int, limit: int) -> None:
    """Raise InvalidInput unless ``1 <= max_results <= limit``."""
    if not 1 <= max_results <= limit:
        raise InvalidInput(f"max_results must be between 1 and {limit}, got {max_results}",
                           max_results=max_results)
