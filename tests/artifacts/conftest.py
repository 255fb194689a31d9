"""Real backends for the artifact tests: local folders, a moto S3 server, a blob HTTP app."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from windlass.artifacts.cas import BlobStore, ContentAddressedStore, blob_key
from windlass.artifacts.hashing import CHUNK_SIZE, check_digest
from windlass.artifacts.http import RestBlobStore
from windlass.artifacts.storage import ByteStorage, FsspecStorage
from windlass.exceptions import WindlassError


class BlobServer:
    """A tiny FastAPI app serving the three blob routes from a swappable store, under uvicorn."""

    def __init__(self) -> None:
        self.storage: ByteStorage | None = None
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def use(self, storage: ByteStorage) -> None:
        """Serve blobs from ``storage`` from now on."""
        self.storage = storage

    @property
    def cas(self) -> ContentAddressedStore:
        """Return the store the routes currently use."""
        assert self.storage is not None
        return ContentAddressedStore(self.storage)

    def build_app(self) -> FastAPI:
        """Return the FastAPI app wiring HEAD/PUT/GET /api/v1/blobs/{digest} to the store."""
        app = FastAPI()

        @app.exception_handler(WindlassError)
        async def windlass_error(request: Request, exc: WindlassError) -> JSONResponse:
            return JSONResponse(exc.to_dict(), status_code=exc.http_status)

        @app.head("/api/v1/blobs/{digest}")
        def head_blob(digest: str) -> Response:
            size = self.cas.size(digest)
            return Response(headers={"Content-Length": str(size)})

        @app.put("/api/v1/blobs/{digest}")
        async def put_blob(digest: str, request: Request) -> Response:
            digest = check_digest(digest)
            cas = self.cas
            had = await run_in_threadpool(cas.has, digest)
            with tempfile.TemporaryFile() as spool:
                try:
                    async for chunk in request.stream():
                        spool.write(chunk)
                except ClientDisconnect:
                    return Response(status_code=400)
                spool.seek(0)
                await run_in_threadpool(cas.put_stream, spool, digest)
            return Response(status_code=200 if had else 201)

        @app.get("/api/v1/blobs/{digest}")
        def get_blob(digest: str) -> StreamingResponse:
            cas = self.cas
            size = cas.size(digest)
            # Raw stored bytes: the client is the one that must catch corruption.
            source = cas.storage.open_read(blob_key(digest))

            def chunks() -> Iterator[bytes]:
                with source:
                    while chunk := source.read(CHUNK_SIZE):
                        yield chunk

            return StreamingResponse(
                chunks(),
                media_type="application/octet-stream",
                headers={"Content-Length": str(size)},
            )

        return app

    def start(self) -> None:
        """Start uvicorn on a free 127.0.0.1 port in a daemon thread."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.build_app(),
            log_level="critical",
            lifespan="off",
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the blob test server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop uvicorn and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def blob_server() -> Iterator[BlobServer]:
    """Run the blob HTTP app for the whole session."""
    server = BlobServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    """Return an httpx client for one test."""
    with httpx.Client(timeout=60) as client:
        yield client


@pytest.fixture
def rest_store(
    blob_server: BlobServer, http_client: httpx.Client, tmp_path: Path
) -> tuple[RestBlobStore, ByteStorage]:
    """Return a RestBlobStore and the server-side storage behind it (fresh per test)."""
    storage = FsspecStorage(str(tmp_path / "server-artifacts"))
    blob_server.use(storage)
    return RestBlobStore(blob_server.url, http_client), storage


@dataclass
class BlobBackend:
    """A BlobStore under test and the bytes behind it (to tamper with and to inspect)."""

    name: str
    store: BlobStore
    storage: ByteStorage

    def tamper(self, digest: str) -> None:
        """Flip one byte of the stored blob ``digest``."""
        key = blob_key(digest)
        with self.storage.open_read(key) as source:
            data = bytearray(source.read())
        data[len(data) // 2] ^= 0xFF
        with tempfile.TemporaryFile() as spool:
            spool.write(data)
            spool.seek(0)
            self.storage.write_from(key, spool)


@pytest.fixture(params=["local", "s3", "rest"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> BlobBackend:
    """Yield each BlobStore implementation in turn, over real backends."""
    if request.param == "local":
        storage = FsspecStorage(str(tmp_path / "artifacts"))
        return BlobBackend("local", ContentAddressedStore(storage), storage)
    if request.param == "s3":
        storage = FsspecStorage(request.getfixturevalue("s3_root"))
        return BlobBackend("s3", ContentAddressedStore(storage), storage)
    store, storage = request.getfixturevalue("rest_store")
    return BlobBackend("rest", store, storage)


@pytest.fixture(params=["local", "s3"])
def byte_storage(request: pytest.FixtureRequest, tmp_path: Path) -> ByteStorage:
    """Yield each ByteStorage implementation in turn."""
    if request.param == "local":
        return FsspecStorage(str(tmp_path / "storage"))
    return FsspecStorage(request.getfixturevalue("s3_root"))


@pytest.fixture
def work_dir(tmp_path: Path) -> Iterator[Path]:
    """Return a scratch folder for files to upload and download."""
    folder = tmp_path / "work"
    folder.mkdir()
    yield folder
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(folder)
