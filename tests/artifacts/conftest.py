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
from fastapi import FastAPI

from windlass.artifacts.cas import BlobStore, ContentAddressedStore, blob_key
from windlass.artifacts.http import RestBlobStore
from windlass.artifacts.storage import ByteStorage, FsspecStorage
from windlass.server.app import create_app
from windlass.server.container import app_services
from windlass.store.sql.store import SqlStore
from windlass.tracking.service import Tracking


class BlobServer:
    """The real windlass REST app, with a swappable blob store, under uvicorn in a thread."""

    def __init__(self, database: Path) -> None:
        self.storage: ByteStorage | None = None
        self.url = ""
        self._database = database
        self._app: FastAPI | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def use(self, storage: ByteStorage) -> None:
        """Serve blobs from ``storage`` from now on."""
        self.storage = storage
        assert self._app is not None
        app_services(self._app).tracking.blobs = ContentAddressedStore(storage)

    @property
    def cas(self) -> ContentAddressedStore:
        """Return the store the routes currently use."""
        assert self.storage is not None
        return ContentAddressedStore(self.storage)

    def build_app(self) -> FastAPI:
        """Return windlass's own app (its blob routes are the ones under test)."""
        placeholder = ContentAddressedStore(FsspecStorage(str(self._database.parent / "b")))
        self._app = create_app(Tracking(SqlStore(f"sqlite:///{self._database}"), placeholder))
        return self._app

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
def blob_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlobServer]:
    """Run the blob HTTP app for the whole session."""
    server = BlobServer(tmp_path_factory.mktemp("blob-server") / "index.db")
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
