"""RestBlobStore specifics: no needless uploads, server errors, unreachable servers."""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path

import httpx
import pytest

from windlass.artifacts.http import RestBlobStore
from windlass.artifacts.storage import ByteStorage
from windlass.exceptions import BackendUnavailable


def _recording_client(log: list[str]) -> httpx.Client:
    def record(request: httpx.Request) -> None:
        log.append(request.method)

    return httpx.Client(timeout=60, event_hooks={"request": [record]})


def test_known_blob_is_not_uploaded_again(
    rest_store: tuple[RestBlobStore, ByteStorage], tmp_path: Path
) -> None:
    store, _ = rest_store
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(200_000))
    log: list[str] = []
    with _recording_client(log) as client:
        recording = RestBlobStore(store.base_url, client)
        first = recording.put_file(source)
        second = recording.put_file(source)
        third = recording.put_stream(io.BytesIO(source.read_bytes()))
    assert first == second == third
    assert log == ["HEAD", "PUT", "HEAD", "HEAD"]


def test_server_error_is_raised_as_the_same_class(
    rest_store: tuple[RestBlobStore, ByteStorage], tmp_path: Path
) -> None:
    store, storage = rest_store
    # Break the server's storage: its blobs/ folder is a plain file now.
    storage.write_from("blobs", io.BytesIO(b"not a folder"))
    with pytest.raises(BackendUnavailable) as caught:
        store.put_stream(io.BytesIO(b"cannot be stored"))
    assert "server-artifacts" in caught.value.message


def test_unreachable_server_is_backend_unavailable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with httpx.Client(timeout=5) as client:
        store = RestBlobStore(f"http://127.0.0.1:{port}/", client)
        with pytest.raises(BackendUnavailable) as caught:
            store.has("0" * 64)
    assert f"127.0.0.1:{port}" in caught.value.message
