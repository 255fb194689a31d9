"""A :class:`~windlass.artifacts.cas.BlobStore` against a windlass server's blob routes.

The server exposes ``HEAD``, ``PUT`` and ``GET`` on ``/api/v1/blobs/{digest}``. Uploads
stream from the file (the digest is computed first, so a blob the server already has is
not sent again); downloads stream to a temporary file and are verified before they are
renamed into place. Server errors arrive as ``{"error_code", "message", "details"}`` and
are raised as the same :mod:`windlass.exceptions` class the server raised.

Like the metadata REST client, requests that fail to connect, lose their connection (no
reply, or a reply cut off) or get 502/503/504 are tried again, with exponential backoff
(``WINDLASS_HTTP_RETRIES`` attempts). An upload is content-addressed, so it is safe to
send again: after a lost reply the blob is asked for first (the lost attempt may have
stored it), and a file or spool is sent again from its start; a stream that cannot be
rewound is not retried.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import httpx

from windlass import config
from windlass.artifacts.atomic import write_atomically
from windlass.artifacts.cas import BlobStore
from windlass.artifacts.hashing import (
    CHUNK_SIZE,
    HashingReader,
    ReadableStream,
    check_digest,
    hash_file,
)
from windlass.exceptions import (
    ArtifactNotFound,
    BackendUnavailable,
    Conflict,
    IntegrityFailure,
    WindlassError,
    error_from_dict,
)

BLOBS_ROUTE = "/api/v1/blobs"
_RETRY_STATUS = {502, 503, 504}
# Error codes for answers without a JSON error body (HEAD, proxies); the rest are
# handled by error_from_dict's own fallbacks.
_CODE_BY_STATUS = {
    409: Conflict.error_code,
    422: IntegrityFailure.error_code,
    502: BackendUnavailable.error_code,
    503: BackendUnavailable.error_code,
    504: BackendUnavailable.error_code,
}


def _error(response: httpx.Response, what: str) -> WindlassError:
    body: Any = None
    with contextlib.suppress(Exception):
        response.read()
        body = response.json()
    if not isinstance(body, dict) or "error_code" not in body:
        status = response.status_code
        body = {"message": f"{what}: the artifact server answered HTTP {status}"}
        if status in _CODE_BY_STATUS:
            body["error_code"] = _CODE_BY_STATUS[status]
    return error_from_dict(body, response.status_code)


class _ResponseStream(io.RawIOBase):
    """A binary reader over a streamed httpx response; closing it closes the response."""

    def __init__(self, response: httpx.Response, base_url: str) -> None:
        super().__init__()
        self._response = response
        self._chunks: Iterator[bytes] = response.iter_bytes(CHUNK_SIZE)
        self._pending = b""
        self._base_url = base_url

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            return b"".join([self._pending, *self._iter_rest()])
        while not self._pending and size > 0:
            chunk = self._next_chunk()
            if chunk is None:
                break
            self._pending = chunk
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def readinto(self, buffer: Any, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _iter_rest(self) -> Iterator[bytes]:
        self._pending = b""
        while (chunk := self._next_chunk()) is not None:
            yield chunk

    def _next_chunk(self) -> bytes | None:
        try:
            return next(self._chunks)
        except StopIteration:
            return None
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"download from {self._base_url} broke off: {exc}", url=self._base_url
            ) from exc

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()


class RestBlobStore(BlobStore):
    """A :class:`~windlass.artifacts.cas.BlobStore` served over HTTP at ``base_url``.

    ``client`` carries timeouts, authentication headers and connection pooling; the
    store only adds the blob routes. Network failures raise
    :class:`~windlass.exceptions.BackendUnavailable`.
    """

    def __init__(self, base_url: str, client: httpx.Client) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client
        self.retries: int = config.settings.http_retries

    def __repr__(self) -> str:
        return f"RestBlobStore({self.base_url!r})"

    def _url(self, digest: str) -> str:
        return f"{self.base_url}{BLOBS_ROUTE}/{check_digest(digest)}"

    def _send(
        self, request: httpx.Request, *, stream: bool = False, attempts: int | None = None
    ) -> httpx.Response:
        """Send ``request``, trying a body-less one again (``attempts``, default: retries)."""
        attempts = self.retries if attempts is None else attempts
        delay = 0.2
        for attempt in range(1, attempts + 1):
            try:
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                if attempt == attempts:
                    raise BackendUnavailable(
                        f"cannot reach the artifact server at {self.base_url}: {exc}",
                        url=self.base_url,
                    ) from exc
            else:
                if response.status_code not in _RETRY_STATUS or attempt == attempts:
                    return response
                response.close()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def _head(self, digest: str) -> httpx.Response | None:
        response = self._send(self._client.build_request("HEAD", self._url(digest)))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _error(response, f"HEAD blob {digest}")
        return response

    def has(self, digest: str) -> bool:
        """Return whether the server stores blob ``digest``."""
        return self._head(digest) is not None

    def size(self, digest: str) -> int:
        """Return the size in bytes of blob ``digest``."""
        response = self._head(digest)
        if response is None:
            raise _missing(digest)
        try:
            return int(response.headers["content-length"])
        except (KeyError, ValueError):
            raise BackendUnavailable(
                f"the server gave no size for blob {digest}", url=self.base_url
            ) from None

    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Upload the file at ``path`` unless the server has it; return (digest, size)."""
        digest, size = hash_file(path)
        if not self.has(digest):
            with open(path, "rb") as source:
                self._upload(digest, size, source)
        return digest, size

    def put_stream(
        self, fileobj: ReadableStream, expected_digest: str | None = None
    ) -> tuple[str, int]:
        """Upload everything ``fileobj`` yields; return (digest, size)."""
        if expected_digest is not None:
            digest = check_digest(expected_digest)
            if not self.has(digest):
                return digest, self._upload(digest, None, fileobj)
            reader = HashingReader(fileobj, digest, what="uploaded stream")
            while reader.read(CHUNK_SIZE):
                pass
            return digest, reader.size
        # The route is named by the digest, so an unnamed stream is spooled to a local
        # temporary file (hashing as it goes) and sent from there.
        with tempfile.TemporaryFile() as spool:
            reader = HashingReader(fileobj)
            while chunk := reader.read(CHUNK_SIZE):
                spool.write(chunk)
            digest, size = reader.hexdigest(), reader.size
            if not self.has(digest):
                spool.seek(0)
                self._upload(digest, size, spool)
        return digest, size

    def _upload(self, digest: str, size: int | None, source: ReadableStream) -> int:
        """Send ``source`` as blob ``digest``, again from its start after a lost reply."""
        # Files and spools can be sent again; other streams get one attempt.
        rewindable = source if isinstance(source, io.IOBase) and source.seekable() else None
        start = 0 if rewindable is None else rewindable.tell()
        delay = 0.2
        for attempt in range(1, self.retries + 1):
            try:
                # A rewindable source is lent to each attempt, which must not close it.
                lent = source if rewindable is None else _Lent(rewindable)
                return self._upload_once(digest, size, lent)
            except BackendUnavailable:
                if rewindable is None or attempt == self.retries:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            stored = self._head(digest)  # the lost attempt may have stored it
            if stored is not None:
                return size if size is not None else int(stored.headers["content-length"])
            rewindable.seek(start)
        raise AssertionError("unreachable")

    def _upload_once(self, digest: str, size: int | None, source: ReadableStream) -> int:
        reader = HashingReader(source, digest, what="uploaded stream")

        def chunks() -> Iterator[bytes]:
            while chunk := reader.read(CHUNK_SIZE):
                yield chunk

        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            # Known length: a plain body instead of chunked transfer encoding.
            headers["Content-Length"] = str(size)
        request = self._client.build_request(
            "PUT", self._url(digest), content=chunks(), headers=headers
        )
        response = self._send(request, attempts=1)  # its body is read once: _upload retries
        if response.status_code not in (200, 201):
            raise _error(response, f"PUT blob {digest}")
        return reader.size

    def _open_response(self, digest: str) -> httpx.Response:
        response = self._send(self._client.build_request("GET", self._url(digest)), stream=True)
        if response.status_code == 200:
            return response
        try:
            if response.status_code == 404:
                raise _missing(digest)
            raise _error(response, f"GET blob {digest}")
        finally:
            response.close()

    def open_stream(self, digest: str) -> BinaryIO:
        """Return a streaming reader of blob ``digest``, checked when read to its end."""
        digest = check_digest(digest)
        response = self._open_response(digest)
        stream = _ResponseStream(response, self.base_url)
        return cast(BinaryIO, HashingReader(stream, digest, what=f"downloaded blob {digest}"))

    def download_to(self, digest: str, dest_path: str | os.PathLike[str]) -> int:
        """Write blob ``digest`` to ``dest_path`` atomically, verified; return its size."""
        with self.open_stream(digest) as source:
            return write_atomically(Path(dest_path), source)


class _Lent:
    """A stream lent to one upload attempt: read through it, never closed by it."""

    def __init__(self, source: io.IOBase) -> None:
        self._source = source

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes of the source."""
        data: bytes = self._source.read(size)
        return data


def _missing(digest: str) -> ArtifactNotFound:
    return ArtifactNotFound(f"no blob {digest} on the artifact server", digest=digest)
