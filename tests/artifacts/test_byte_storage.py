"""The ByteStorage contract over a local folder and a real (moto) S3 endpoint."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from windlass.artifacts.storage import ByteStorage, FsspecStorage
from windlass.exceptions import ArtifactNotFound, BackendUnavailable, UnsafePath


class FailingSource:
    """A stream that yields some bytes and then breaks, like a dropped upload."""

    def __init__(self, good: bytes) -> None:
        self._chunks: Iterator[bytes] = iter([good])

    def read(self, size: int = -1, /) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            raise OSError("connection reset by peer") from None


def test_write_read_round_trip(byte_storage: ByteStorage) -> None:
    data = os.urandom(3 * 1024 * 1024 + 1)
    byte_storage.write_from("a/b/data.bin", io.BytesIO(data))
    assert byte_storage.exists("a/b/data.bin")
    assert byte_storage.size("a/b/data.bin") == len(data)
    with byte_storage.open_read("a/b/data.bin") as stream:
        assert stream.read() == data


def test_overwrite_replaces(byte_storage: ByteStorage) -> None:
    byte_storage.write_from("k", io.BytesIO(b"old"))
    byte_storage.write_from("k", io.BytesIO(b"new!"))
    with byte_storage.open_read("k") as stream:
        assert stream.read() == b"new!"


def test_missing_key(byte_storage: ByteStorage) -> None:
    assert not byte_storage.exists("nope")
    with pytest.raises(ArtifactNotFound):
        byte_storage.size("nope")
    with pytest.raises(ArtifactNotFound):
        byte_storage.open_read("nope")
    with pytest.raises(ArtifactNotFound):
        byte_storage.move("nope", "elsewhere")
    byte_storage.delete("nope")


def test_a_folder_is_not_an_object(byte_storage: ByteStorage) -> None:
    byte_storage.write_from("folder/file", io.BytesIO(b"x"))
    assert not byte_storage.exists("folder")
    with pytest.raises(ArtifactNotFound):
        byte_storage.size("folder")


def test_move_and_delete(byte_storage: ByteStorage) -> None:
    byte_storage.write_from("tmp/1", io.BytesIO(b"payload"))
    byte_storage.move("tmp/1", "final/one")
    assert not byte_storage.exists("tmp/1")
    with byte_storage.open_read("final/one") as stream:
        assert stream.read() == b"payload"
    byte_storage.delete("final/one")
    assert not byte_storage.exists("final/one")


def test_list_keys(byte_storage: ByteStorage) -> None:
    for key in ["b/2", "a/1", "b/c/3", "bb/4"]:
        byte_storage.write_from(key, io.BytesIO(key.encode()))
    assert list(byte_storage.list_keys()) == ["a/1", "b/2", "b/c/3", "bb/4"]
    assert list(byte_storage.list_keys("b")) == ["b/2", "b/c/3"]
    assert list(byte_storage.list_keys("b/")) == ["b/2", "b/c/3"]
    assert list(byte_storage.list_keys("nothing")) == []


def test_failed_write_leaves_nothing(byte_storage: ByteStorage) -> None:
    with pytest.raises(OSError, match="reset"):
        byte_storage.write_from("broken", FailingSource(b"partial bytes"))
    assert not byte_storage.exists("broken")
    assert list(byte_storage.list_keys()) == []


def test_failed_large_write_leaves_nothing(byte_storage: ByteStorage) -> None:
    # Larger than one object-store part, so a multipart upload has begun when it breaks.
    with pytest.raises(OSError, match="reset"):
        byte_storage.write_from("broken", FailingSource(os.urandom(12 * 1024 * 1024)))
    assert not byte_storage.exists("broken")
    assert list(byte_storage.list_keys()) == []


@pytest.mark.parametrize("key", ["../outside", "/abs", "a/../../b", "", "a\x00b", "..\\x"])
def test_keys_cannot_escape_the_root(byte_storage: ByteStorage, key: str) -> None:
    with pytest.raises(UnsafePath):
        byte_storage.exists(key)
    with pytest.raises(UnsafePath):
        byte_storage.write_from(key, io.BytesIO(b"x"))
    with pytest.raises(UnsafePath):
        byte_storage.open_read(key)
    with pytest.raises(UnsafePath):
        byte_storage.delete(key)


def test_local_symlink_out_of_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    storage = FsspecStorage(str(tmp_path / "root"))
    (tmp_path / "root" / "link").symlink_to(outside)
    with pytest.raises(UnsafePath):
        storage.open_read("link/secret")
    with pytest.raises(UnsafePath):
        storage.write_from("link/new", io.BytesIO(b"x"))
    assert not (outside / "new").exists()


def test_local_file_uri_and_plain_path_agree(tmp_path: Path) -> None:
    FsspecStorage(str(tmp_path)).write_from("k", io.BytesIO(b"same"))
    with FsspecStorage(f"file://{tmp_path}").open_read("k") as stream:
        assert stream.read() == b"same"


def test_local_writes_leave_no_temp_files(tmp_path: Path) -> None:
    storage = FsspecStorage(str(tmp_path))
    storage.write_from("x/y", io.BytesIO(b"data"))
    with pytest.raises(OSError, match="reset"):
        storage.write_from("x/z", FailingSource(b"partial"))
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["y"]


def test_s3_uses_the_configured_endpoint(
    s3_env: str, s3_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store built against an unreachable endpoint must not poison the next one: fsspec
    # would otherwise hand back its cached instance for the same bucket.
    good = FsspecStorage(s3_root)
    good.write_from("k", io.BytesIO(b"v"))
    monkeypatch.setenv("WINDLASS_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    broken = FsspecStorage(s3_root, {"config_kwargs": {"retries": {"max_attempts": 1}}})
    with pytest.raises(BackendUnavailable) as caught:
        broken.exists("k")
    assert s3_root in caught.value.message
    monkeypatch.setenv("WINDLASS_S3_ENDPOINT_URL", s3_env)
    assert FsspecStorage(s3_root).exists("k")
