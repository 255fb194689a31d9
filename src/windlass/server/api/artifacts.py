"""Blobs (``/api/v1/blobs/{digest}``) and run artifact indexes (``/api/v1/runs/{id}/artifacts``).

Blob bodies stream in both directions: an upload is hashed while it is written to
storage (never held in memory) and refused if its bytes do not match the digest in the
URL; a download streams from storage in 1 MiB chunks.

Permissions. A blob belongs to no project: one digest may be a file of runs and model
versions of several projects, and it is uploaded before any of them records it. So the
blob routes need an authenticated caller (``authenticated``), not a role: an upload
grants nothing until a run or version in a project the caller may write records it (that
record is checked and audited), and a download needs the digest, a 256-bit content hash
that only someone who saw the content, or metadata naming it, can know; the metadata
(artifact listings, version files) is what the project roles guard. Checking on download
that the digest is referenced in a project the caller may read needs a store query by
digest over run artifacts and version files, which the store does not offer yet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field
from starlette.requests import ClientDisconnect

from windlass.access.policy import Permission
from windlass.artifacts.hashing import CHUNK_SIZE, StreamHasher, check_digest
from windlass.entities import ArtifactEntry
from windlass.exceptions import IntegrityFailure
from windlass.server.api.common import (
    Digest,
    Empty,
    NonNegative64,
    RequestBody,
    ResponseBody,
    errors,
    requires,
)
from windlass.server.deps import tracking
from windlass.tracking.service import Tracking


# -- request bodies ------------------------------------------------------------------------
class ArtifactEntryBody(RequestBody):
    """One uploaded file of a run."""

    path: str = Field(min_length=1, max_length=1024)
    digest: Digest
    size: NonNegative64


class ArtifactEntries(RequestBody):
    """Files to record."""

    entries: list[ArtifactEntryBody]


# -- response bodies -----------------------------------------------------------------------
class FileEntry(ResponseBody):
    """One recorded file: its path, BLAKE3 digest and size in bytes."""

    path: str
    digest: str
    size: int


class FileEntries(ResponseBody):
    """Every file under a folder of a run's artifacts."""

    entries: list[FileEntry]


class FolderItem(ResponseBody):
    """One item of an artifact folder: a file (with size and digest) or a sub-folder."""

    path: str
    is_dir: bool
    size: int | None
    digest: str | None


class FolderListing(ResponseBody):
    """One folder level of a run's artifacts."""

    files: list[FolderItem]


class BlobStored(ResponseBody):
    """A blob upload's outcome: 201 stored now, 200 already stored (the body was checked)."""

    digest: str


# -- routes --------------------------------------------------------------------------------
router = APIRouter(prefix="/api/v1", tags=["artifacts"])
_BINARY = {"type": "string", "format": "binary"}
TrackingDep = Annotated[Tracking, Depends(tracking)]
DigestPath = Annotated[str, Path(pattern="^[0-9a-fA-F]{64}$", description="BLAKE3 hex digest")]


class _BodyReader:
    """A blocking ``read(n)`` over an ASGI request stream, for use in a worker thread."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._done = False

    async def _next(self) -> bytes | None:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None

    def read(self, size: int = -1, /) -> bytes:
        want = CHUNK_SIZE if size is None or size < 0 else size
        while len(self._buffer) < want and not self._done:
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                self._done = True
            else:
                self._buffer += chunk
        out = bytes(self._buffer[:want])
        del self._buffer[:want]
        return out


@router.head(
    "/blobs/{digest}",
    response_class=Response,
    responses={
        200: {"description": "Stored; Content-Length is the blob's size"},
        **errors(400, 404),
    },
    **requires(Permission.AUTHENTICATED),
)
def head_blob(digest: DigestPath, service: TrackingDep) -> Response:
    """200 with the blob's size in Content-Length, or 404."""
    size = service.blobs.size(check_digest(digest))
    return Response(status_code=200, headers={"content-length": str(size)})


@router.put(
    "/blobs/{digest}",
    status_code=201,
    response_model=BlobStored,
    responses={
        200: {"model": BlobStored, "description": "Already stored"},
        **errors(400, 413, 422),
    },
    **requires(Permission.AUTHENTICATED),
)
async def put_blob(digest: DigestPath, request: Request, service: TrackingDep) -> Response:
    """Store the request body as blob ``digest`` (verified; stored once)."""
    digest = check_digest(digest)
    if await anyio.to_thread.run_sync(service.blobs.has, digest):
        # Already stored: still read (and check) the body, so that a client sending the
        # wrong bytes learns of it, and the connection stays usable.
        hasher = StreamHasher()
        async for chunk in request.stream():
            hasher.update(chunk)
        if hasher.hexdigest() != digest:
            raise IntegrityFailure(
                f"uploaded bytes do not match digest {digest}",
                digest=digest,
                actual=hasher.hexdigest(),
            )
        return JSONResponse({"digest": digest}, status_code=200)
    reader = _BodyReader(request.stream().__aiter__())
    try:
        await anyio.to_thread.run_sync(service.blobs.put_stream, reader, digest)
    except ClientDisconnect:
        # The client gave up mid-upload; the blob store kept nothing of it.
        return Response(status_code=400)
    return JSONResponse({"digest": digest}, status_code=201)


@router.get(
    "/blobs/{digest}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The blob's bytes",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        **errors(400, 404),
    },
    **requires(Permission.AUTHENTICATED),
)
def get_blob(digest: DigestPath, service: TrackingDep) -> StreamingResponse:
    """Stream blob ``digest``."""
    size = service.blobs.size(check_digest(digest))
    stream = service.blobs.open_stream(digest)

    def chunks() -> Iterator[bytes]:
        with stream:
            while chunk := stream.read(CHUNK_SIZE):
                yield chunk

    return StreamingResponse(
        chunks(), media_type="application/octet-stream", headers={"content-length": str(size)}
    )


@router.post(
    "/runs/{run_id}/artifacts",
    response_model=Empty,
    responses=errors(400, 404, 409, 413, 422),
    **requires(Permission.WRITE),
)
def record_artifacts(run_id: str, body: ArtifactEntries, service: TrackingDep) -> dict[str, Any]:
    """Record uploaded blobs as files of a run."""
    service.record_artifacts(
        run_id, [ArtifactEntry(e.path, e.digest, e.size) for e in body.entries]
    )
    return {}


@router.get(
    "/runs/{run_id}/artifacts",
    response_model=FolderListing,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def list_artifacts(run_id: str, service: TrackingDep, path: str = "") -> dict[str, Any]:
    """List one folder level of a run's artifacts."""
    return {"files": [f.to_dict() for f in service.list_artifacts(run_id, path)]}


@router.get(
    "/runs/{run_id}/artifacts/walk",
    response_model=FileEntries,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def walk_artifacts(run_id: str, service: TrackingDep, path: str = "") -> dict[str, Any]:
    """Return every file under ``path``."""
    return {"entries": [e.to_dict() for e in service.walk_artifacts(run_id, path)]}


@router.get(
    "/runs/{run_id}/artifacts/entry",
    response_model=FileEntry,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def artifact_entry(run_id: str, path: str, service: TrackingDep) -> dict[str, Any]:
    """Return one file's entry (path, digest, size)."""
    return service.get_artifact(run_id, path).to_dict()
