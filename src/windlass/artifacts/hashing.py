"""Content hashing: BLAKE3 digests of files and streams, and hash-checking readers.

A digest is 64 lowercase hex characters. BLAKE3 is used (multi-threaded, memory-mapped
for files); ``hashlib.sha256`` only if the ``blake3`` package cannot be imported, which
``HASH_ALGORITHM`` reports. Both produce 64 hex characters, so the algorithm in use must
be the same for every writer and reader of one store.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from windlass.exceptions import IntegrityFailure, InvalidInput

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

_blake3: Any
try:
    from blake3 import blake3 as _blake3
except ImportError:  # pragma: no cover - blake3 is a hard dependency; this is the fallback
    _blake3 = None

HASH_ALGORITHM = "blake3" if _blake3 is not None else "sha256"
CHUNK_SIZE = 1024 * 1024
# Below this, reading is cheaper than setting up a memory map and threads.
_MMAP_MIN_BYTES = 1024 * 1024
_DIGEST = re.compile(r"[0-9a-f]{64}")


class ReadableStream(Protocol):
    """Anything with a binary ``read(size)``: files, sockets' files, our readers."""

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes (all remaining bytes when negative); ``b""`` at EOF."""
        ...


def check_digest(digest: str) -> str:
    """Return ``digest`` lowercased if it is 64 hex characters, else raise InvalidInput."""
    if isinstance(digest, str):
        lowered = digest.lower()
        if _DIGEST.fullmatch(lowered):
            return lowered
    raise InvalidInput(
        f"{digest!r} is not a content digest (expected 64 hex characters)", digest=str(digest)
    )


def _new_hasher(algorithm: str) -> Any:
    if algorithm == "blake3":
        if _blake3 is None:
            raise InvalidInput("the blake3 package is not installed")
        return _blake3(max_threads=_blake3.AUTO)
    if algorithm == "sha256":
        return hashlib.sha256()
    raise InvalidInput(f"unknown hash algorithm {algorithm!r}; known: blake3, sha256")


class StreamHasher:
    """Incremental digest of bytes fed in pieces; also counts them."""

    def __init__(self, algorithm: str = HASH_ALGORITHM) -> None:
        self.algorithm = algorithm
        self._hasher = _new_hasher(algorithm)
        self.size = 0

    def update(self, data: ReadableBuffer) -> None:
        """Add ``data`` to the digest."""
        view = memoryview(data)
        self._hasher.update(view)
        self.size += view.nbytes

    def hexdigest(self) -> str:
        """Return the digest of everything added so far as 64 hex characters."""
        digest: str = self._hasher.hexdigest()
        return digest


def hash_bytes(data: ReadableBuffer, algorithm: str = HASH_ALGORITHM) -> str:
    """Return the digest of ``data``."""
    hasher = StreamHasher(algorithm)
    hasher.update(data)
    return hasher.hexdigest()


def hash_file(path: str | os.PathLike[str], algorithm: str = HASH_ALGORITHM) -> tuple[str, int]:
    """Return ``(digest, size)`` of the file at ``path``.

    Large files are memory-mapped and hashed on every core (BLAKE3), so hashing runs at
    disk speed without reading the file into Python.
    """
    path = Path(path)
    size = path.stat().st_size
    if algorithm == "blake3" and _blake3 is not None and size >= _MMAP_MIN_BYTES:
        hasher = _blake3(max_threads=_blake3.AUTO)
        hasher.update_mmap(path)
        digest: str = hasher.hexdigest()
        return digest, size
    with path.open("rb") as stream:
        return hash_stream(stream, algorithm)


def hash_stream(stream: ReadableStream, algorithm: str = HASH_ALGORITHM) -> tuple[str, int]:
    """Read ``stream`` to its end in chunks and return ``(digest, size)``."""
    hasher = StreamHasher(algorithm)
    while chunk := stream.read(CHUNK_SIZE):
        hasher.update(chunk)
    return hasher.hexdigest(), hasher.size


class HashingReader(io.RawIOBase):
    """A binary reader that hashes what passes through it and can check it at EOF.

    With ``expected_digest``, reaching the end of ``source`` raises
    :class:`~windlass.exceptions.IntegrityFailure` if the bytes read do not hash to it, so
    whoever copies the stream to its end learns about corruption before committing.
    Closing the reader closes ``source`` when it has a ``close`` method.
    """

    def __init__(
        self,
        source: ReadableStream,
        expected_digest: str | None = None,
        *,
        algorithm: str = HASH_ALGORITHM,
        what: str = "stream",
    ) -> None:
        super().__init__()
        self._source = source
        self._expected = check_digest(expected_digest) if expected_digest is not None else None
        self._hasher = StreamHasher(algorithm)
        self._what = what
        self._checked = False
        self._failure: IntegrityFailure | None = None

    @property
    def size(self) -> int:
        """Return how many bytes were read so far."""
        return self._hasher.size

    def hexdigest(self) -> str:
        """Return the digest of the bytes read so far."""
        return self._hasher.hexdigest()

    def readable(self) -> bool:
        """Return True: this is a reader."""
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        """Return up to ``size`` bytes from the source, hashing them; check at EOF."""
        if size is None or size < 0:
            data = self._source.read()
            eof = True
        else:
            data = self._source.read(size)
            eof = size > 0 and not data
        if data:
            self._hasher.update(data)
        if eof:
            self._reached_eof()
        return data

    def readall(self) -> bytes:
        """Return every remaining byte (checked at the end like :meth:`read`)."""
        return self.read(-1)

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        """Fill ``buffer`` from the source; return how many bytes were written."""
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Close this reader and its source."""
        if not self.closed:
            close = getattr(self._source, "close", None)
            if callable(close):
                close()
        super().close()

    def _reached_eof(self) -> None:
        if not self._checked and self._expected is not None:
            actual = self._hasher.hexdigest()
            if actual != self._expected:
                self._failure = IntegrityFailure(
                    f"{self._what} does not match its digest: expected {self._expected}, "
                    f"its {self._hasher.size} bytes hash to {actual}",
                    expected=self._expected,
                    actual=actual,
                )
        self._checked = True
        # Every read at EOF fails again, so a caller who swallowed the first error
        # cannot mistake the stream for good.
        if self._failure is not None:
            raise self._failure
