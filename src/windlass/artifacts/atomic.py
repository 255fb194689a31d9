"""Atomic local file writes: a file appears complete under its name, or not at all."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from windlass.artifacts.hashing import CHUNK_SIZE, ReadableStream

# Names of files still being written; storages leave them out of listings.
TEMP_PREFIX = ".windlass-tmp-"


def write_atomically(dest: Path, source: ReadableStream, *, durable: bool = True) -> int:
    """Copy ``source`` to ``dest`` in chunks through a temporary file; return the byte count.

    The temporary file sits in ``dest``'s folder (created if needed) and is renamed over
    ``dest`` with :func:`os.replace` only once ``source`` is read to its end, so readers
    never see a partial file. If reading or writing fails, the temporary file is removed
    and ``dest`` is left as it was. With ``durable``, the bytes are fsynced before the
    rename so a crash cannot leave a complete-looking but empty file.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    # O_EXCL: never write through a file (or symlink) someone else put there.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK_SIZE):
                out.write(chunk)
                written += len(chunk)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return written
