"""Sortable random ids (UUIDv7 as 32 hex characters) and millisecond clocks."""

from __future__ import annotations

import os
import re
import threading
import time

from windlass.exceptions import InvalidInput

_ID = re.compile(r"[0-9a-f]{32}")
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> str:
    """Return a UUIDv7 as 32 lowercase hex characters, monotonic within this process."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same millisecond (or clock stepped back): keep order with the 12-bit counter.
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        _last_ms = ms
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return f"{value:032x}"


def now_ms() -> int:
    """Return the current UTC time in integer milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def is_id(value: str) -> bool:
    """Tell whether ``value`` has the shape of a windlass id (32 lowercase hex characters)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def writer_id(kind: str, given: str | None) -> str:
    """Return the id a writer chose for a new ``kind`` (checked), or a new one if none.

    Writers pick the ids of what they create, so a create retried after a lost response
    is the same create; a value that is not 32 hex characters is InvalidInput naming it.
    """
    if given is None or given == "":
        return new_id()
    if not is_id(given):
        raise InvalidInput(f"{kind} id {given!r} is not 32 hex characters")
    return given
