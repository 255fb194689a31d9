"""Content-addressed blob storage: the :class:`BlobStore` interface and its storage-backed form.

A blob is named by the digest of its bytes (see :mod:`windlass.artifacts.hashing`), so
the same content is stored once however often it is logged, and every read can be checked
against its name. :class:`ContentAddressedStore` keeps blobs in any
:class:`~windlass.artifacts.storage.ByteStorage` at ``blobs/<d[:2]>/<d[2:4]>/<d>``;
:class:`~windlass.artifacts.http.RestBlobStore` implements the same interface against a
windlass server. Nothing here holds a whole blob in memory: bytes move in 1 MiB chunks.
"""

from __future__ import annotations

import abc
import contextlib
import os
from pathlib import Path
from typing import BinaryIO, cast

from windlass.artifacts.atomic import write_atomically
from windlass.artifacts.hashing import (
    CHUNK_SIZE,
    HashingReader,
    ReadableStream,
    check_digest,
    hash_file,
)
from windlass.artifacts.storage import ByteStorage
from windlass.exceptions import ArtifactNotFound
from windlass.ids import new_id

# Uploads land here first and are renamed under blobs/ once their digest is known.
TEMP_FOLDER = "tmp"


class BlobStore(abc.ABC):
    """Immutable blobs named by their content digest (64 hex characters).

    A malformed digest raises :class:`~windlass.exceptions.InvalidInput`; a missing blob
    raises :class:`~windlass.exceptions.ArtifactNotFound`; bytes that do not match their
    digest raise :class:`~windlass.exceptions.IntegrityFailure`.
    """

    @abc.abstractmethod
    def has(self, digest: str) -> bool:
        """Return whether the blob ``digest`` is stored."""

    @abc.abstractmethod
    def size(self, digest: str) -> int:
        """Return the size in bytes of blob ``digest``."""

    @abc.abstractmethod
    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Store the file at ``path`` (once, however often it is put); return (digest, size)."""

    @abc.abstractmethod
    def put_stream(
        self, fileobj: ReadableStream, expected_digest: str | None = None
    ) -> tuple[str, int]:
        """Store everything ``fileobj`` yields; return (digest, size).

        With ``expected_digest``, bytes hashing to anything else raise IntegrityFailure
        and nothing is stored.
        """

    @abc.abstractmethod
    def open_stream(self, digest: str) -> BinaryIO:
        """Return a streaming reader of blob ``digest``, checked when read to its end."""

    @abc.abstractmethod
    def download_to(self, digest: str, dest_path: str | os.PathLike[str]) -> int:
        """Write blob ``digest`` to ``dest_path`` atomically, verified; return its size.

        ``dest_path`` is replaced only by complete, verified bytes; on IntegrityFailure it
        is left as it was.
        """


def blob_key(digest: str) -> str:
    """Return the storage key of blob ``digest``: ``blobs/<d[:2]>/<d[2:4]>/<d>``."""
    digest = check_digest(digest)
    return f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"


class ContentAddressedStore(BlobStore):
    """A :class:`BlobStore` over a :class:`~windlass.artifacts.storage.ByteStorage`.

    Writes go to ``tmp/<id>`` while being hashed and are moved under ``blobs/`` when
    complete and verified, so a blob key only ever holds bytes matching its name. A
    digest already stored is not written again.
    """

    def __init__(self, storage: ByteStorage) -> None:
        self.storage = storage

    def __repr__(self) -> str:
        return f"ContentAddressedStore({self.storage!r})"

    def has(self, digest: str) -> bool:
        """Return whether the blob ``digest`` is stored."""
        return self.storage.exists(blob_key(digest))

    def size(self, digest: str) -> int:
        """Return the size in bytes of blob ``digest``."""
        key = blob_key(digest)
        try:
            return self.storage.size(key)
        except ArtifactNotFound:
            raise _missing(digest) from None

    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Store the file at ``path`` (once, however often it is put); return (digest, size)."""
        digest, size = hash_file(path)
        if self.has(digest):
            return digest, size
        with open(path, "rb") as source:
            # Hash again while copying: the file may change between the two reads.
            return self.put_stream(source, expected_digest=digest)

    def put_stream(
        self, fileobj: ReadableStream, expected_digest: str | None = None
    ) -> tuple[str, int]:
        """Store everything ``fileobj`` yields; return (digest, size)."""
        expected = check_digest(expected_digest) if expected_digest is not None else None
        reader = HashingReader(fileobj, expected, what="uploaded stream")
        if expected is not None and self.has(expected):
            # Already stored: read the stream only to check the caller's claim.
            while reader.read(CHUNK_SIZE):
                pass
            return expected, reader.size
        temp = f"{TEMP_FOLDER}/{new_id()}"
        try:
            self.storage.write_from(temp, reader)
            digest = reader.hexdigest()
            key = blob_key(digest)
            if self.storage.exists(key):
                self.storage.delete(temp)
            else:
                self.storage.move(temp, key)
        except BaseException:
            with contextlib.suppress(Exception):
                self.storage.delete(temp)
            raise
        return digest, reader.size

    def open_stream(self, digest: str) -> BinaryIO:
        """Return a streaming reader of blob ``digest``, checked when read to its end."""
        key = blob_key(digest)
        try:
            source = self.storage.open_read(key)
        except ArtifactNotFound:
            raise _missing(digest) from None
        reader = HashingReader(source, digest, what=f"stored blob {digest}")
        return cast(BinaryIO, reader)

    def download_to(self, digest: str, dest_path: str | os.PathLike[str]) -> int:
        """Write blob ``digest`` to ``dest_path`` atomically, verified; return its size."""
        with self.open_stream(digest) as source:
            return write_atomically(Path(dest_path), source)


def _missing(digest: str) -> ArtifactNotFound:
    return ArtifactNotFound(f"no blob {digest} in the artifact store", digest=digest)


__all__ = ["TEMP_FOLDER", "BlobStore", "ContentAddressedStore", "blob_key"]
