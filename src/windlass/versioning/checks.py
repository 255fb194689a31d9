"""Checks every registry applies to what a caller writes: bounded text, who claims the write."""

from __future__ import annotations

from typing import Any

from windlass.exceptions import InvalidInput
from windlass.tracking.source import current_user
from windlass.uris import MAX_NAME_LENGTH


def checked_text(kind: str, value: Any, limit: int) -> str:
    """Return ``value`` if it is a string of at most ``limit`` characters without NUL.

    Else InvalidInput naming ``kind`` and what is wrong.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{kind} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidInput(f"{kind} has {len(value)} characters; the limit is {limit}")
    if "\x00" in value:
        raise InvalidInput(f"{kind} contains a NUL character")
    return value


def claim(claimed_by: str | None) -> str:
    """Return who the caller says it is, recorded as a claim and never trusted.

    Not given: the embedded SDK's login name; a server route passes "" instead.
    """
    return checked_text(
        "claimed_by", current_user() if claimed_by is None else claimed_by, MAX_NAME_LENGTH
    )
