"""The BlobStore contract, run against every implementation over real backends."""

from __future__ import annotations

import io
import os
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from blake3 import blake3

from windlass.artifacts.cas import blob_key
from windlass.exceptions import ArtifactNotFound, IntegrityFailure, InvalidInput, UnsafePath

if TYPE_CHECKING:
    from conftest import BlobBackend

MIB = 1024 * 1024


def _blobs(backend: BlobBackend) -> list[str]:
    return list(backend.storage.list_keys("blobs"))


def _leftovers(backend: BlobBackend) -> list[str]:
    return [key for key in backend.storage.list_keys("") if not key.startswith("blobs/")]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_put_stream_round_trip(backend: BlobBackend, work_dir: Path) -> None:
    data = os.urandom(3 * MIB + 17)
    digest, size = backend.store.put_stream(io.BytesIO(data))
    assert (digest, size) == (blake3(data).hexdigest(), len(data))
    assert backend.store.has(digest)
    assert backend.store.size(digest) == len(data)
    with backend.store.open_stream(digest) as stream:
        assert stream.read() == data
    dest = work_dir / "out" / "copy.bin"
    assert backend.store.download_to(digest, dest) == len(data)
    assert dest.read_bytes() == data
    assert _blobs(backend) == [blob_key(digest)]
    assert _leftovers(backend) == []


def test_put_file_round_trip(backend: BlobBackend, work_dir: Path) -> None:
    data = os.urandom(2 * MIB)
    source = _write(work_dir / "model.bin", data)
    digest, size = backend.store.put_file(source)
    assert (digest, size) == (blake3(data).hexdigest(), len(data))
    dest = work_dir / "model-copy.bin"
    backend.store.download_to(digest, dest)
    assert dest.read_bytes() == data


def test_empty_blob(backend: BlobBackend, work_dir: Path) -> None:
    digest, size = backend.store.put_stream(io.BytesIO(b""))
    assert (digest, size) == (blake3(b"").hexdigest(), 0)
    assert backend.store.size(digest) == 0
    backend.store.download_to(digest, work_dir / "empty")
    assert (work_dir / "empty").read_bytes() == b""


def test_same_content_is_stored_once(backend: BlobBackend, work_dir: Path) -> None:
    data = os.urandom(100_000)
    first = backend.store.put_stream(io.BytesIO(data))
    second = backend.store.put_file(_write(work_dir / "again.bin", data))
    third = backend.store.put_stream(io.BytesIO(data), expected_digest=first[0])
    assert first == second == third
    assert _blobs(backend) == [blob_key(first[0])]
    assert _leftovers(backend) == []


def test_expected_digest_mismatch_stores_nothing(backend: BlobBackend) -> None:
    data = os.urandom(50_000)
    claimed = blake3(b"something else").hexdigest()
    with pytest.raises(IntegrityFailure):
        backend.store.put_stream(io.BytesIO(data), expected_digest=claimed)
    assert not backend.store.has(claimed)
    assert not backend.store.has(blake3(data).hexdigest())
    assert _blobs(backend) == []
    assert _leftovers(backend) == []


def test_expected_digest_mismatch_on_a_stored_digest_raises(backend: BlobBackend) -> None:
    stored, _ = backend.store.put_stream(io.BytesIO(b"the real bytes"))
    with pytest.raises(IntegrityFailure):
        backend.store.put_stream(io.BytesIO(b"other bytes"), expected_digest=stored)
    with backend.store.open_stream(stored) as stream:
        assert stream.read() == b"the real bytes"


def test_tampered_blob_fails_download_and_keeps_destination(
    backend: BlobBackend, work_dir: Path
) -> None:
    data = os.urandom(2 * MIB + 3)
    digest, _ = backend.store.put_stream(io.BytesIO(data))
    backend.tamper(digest)
    dest = _write(work_dir / "previous.bin", b"previous contents")
    with pytest.raises(IntegrityFailure) as caught:
        backend.store.download_to(digest, dest)
    assert digest in caught.value.message
    assert dest.read_bytes() == b"previous contents"
    assert sorted(p.name for p in work_dir.iterdir()) == ["previous.bin"]


def test_tampered_blob_fails_stream_at_end(backend: BlobBackend) -> None:
    digest, _ = backend.store.put_stream(io.BytesIO(os.urandom(10_000)))
    backend.tamper(digest)
    with backend.store.open_stream(digest) as stream:
        assert len(stream.read(4096)) == 4096
        with pytest.raises(IntegrityFailure):
            stream.read()


def test_missing_blob(backend: BlobBackend, work_dir: Path) -> None:
    digest = blake3(b"never stored").hexdigest()
    assert not backend.store.has(digest)
    with pytest.raises(ArtifactNotFound):
        backend.store.size(digest)
    with pytest.raises(ArtifactNotFound):
        backend.store.open_stream(digest)
    with pytest.raises(ArtifactNotFound):
        backend.store.download_to(digest, work_dir / "missing.bin")
    assert not (work_dir / "missing.bin").exists()


@pytest.mark.parametrize(
    "digest", ["", "abc", "../../etc/passwd", "g" * 64, "a" * 63, "a" * 65, "a" * 62 + "/x"]
)
def test_malformed_digest_is_invalid_input(backend: BlobBackend, digest: str) -> None:
    for call in (backend.store.has, backend.store.size, backend.store.open_stream):
        with pytest.raises(InvalidInput) as caught:
            call(digest)
        assert not isinstance(caught.value, UnsafePath)
    with pytest.raises(InvalidInput):
        backend.store.put_stream(io.BytesIO(b"x"), expected_digest=digest)


def test_uppercase_digest_is_accepted(backend: BlobBackend) -> None:
    digest, _ = backend.store.put_stream(io.BytesIO(b"case"))
    assert backend.store.has(digest.upper())


def test_large_file_streams_with_bounded_memory(backend: BlobBackend, work_dir: Path) -> None:
    source = work_dir / "big.bin"
    with source.open("wb") as out:
        for _ in range(96):
            out.write(os.urandom(MIB))
    dest = work_dir / "big-copy.bin"
    tracemalloc.start()
    try:
        digest, size = backend.store.put_file(source)
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        backend.store.download_to(digest, dest)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == 96 * MIB
    # Chunked transfer holds a few chunks at a time, never the file; s3fs and botocore
    # keep about four copies of one 8 MiB part.
    limit = 48 * MIB if backend.name == "s3" else 16 * MIB
    assert upload_peak < limit, f"upload peak {upload_peak / MIB:.1f} MiB"
    assert download_peak < limit, f"download peak {download_peak / MIB:.1f} MiB"
    hasher = blake3()
    hasher.update_mmap(dest)
    assert hasher.hexdigest() == digest
    assert dest.stat().st_size == size
