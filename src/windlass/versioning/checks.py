"""Checks every registry applies to what a caller writes: bounded text, who made the write."""

from __future__ import annotations

from typing import Any

from windlass.exceptions import InvalidInput
from windlass.principal import Principal
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


def recorded_name(principal: Principal) -> str:
    """Return the name a write is recorded under (the ``claimed_by`` columns): the principal's."""
    return checked_text("principal name", principal.name, MAX_NAME_LENGTH)
