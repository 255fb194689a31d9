"""Content hashing: BLAKE3 digests match the reference, readers catch corruption."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from blake3 import blake3

from windlass.artifacts.hashing import (
    HASH_ALGORITHM,
    HashingReader,
    StreamHasher,
    check_digest,
    hash_bytes,
    hash_file,
    hash_stream,
)
from windlass.exceptions import IntegrityFailure, InvalidInput

MIB = 1024 * 1024


def test_blake3_is_the_algorithm() -> None:
    assert HASH_ALGORITHM == "blake3"


@pytest.mark.parametrize("size", [0, 1, 1023, MIB - 1, MIB, 5 * MIB + 7])
def test_hash_file_matches_blake3_reference(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    assert hash_file(path) == (blake3(data).hexdigest(), size)


def test_known_vector() -> None:
    # The official BLAKE3 digest of the empty input.
    expected = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    assert hash_bytes(b"") == expected


def test_stream_hasher_in_pieces_equals_one_shot() -> None:
    data = os.urandom(3 * MIB + 5)
    hasher = StreamHasher()
    for start in range(0, len(data), 777_777):
        hasher.update(data[start : start + 777_777])
    assert hasher.hexdigest() == blake3(data).hexdigest()
    assert hasher.size == len(data)
    assert hash_stream(io.BytesIO(data)) == (blake3(data).hexdigest(), len(data))


def test_sha256_algorithm_matches_hashlib(tmp_path: Path) -> None:
    data = os.urandom(2 * MIB)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    assert hash_file(path, "sha256") == (hashlib.sha256(data).hexdigest(), len(data))
    assert hash_bytes(data, "sha256") == hashlib.sha256(data).hexdigest()


def test_unknown_algorithm() -> None:
    with pytest.raises(InvalidInput):
        StreamHasher("md5")


def test_check_digest() -> None:
    digest = blake3(b"x").hexdigest()
    assert check_digest(digest.upper()) == digest
    for bad in ["", "xyz", digest[:-1], digest + "0", "../" + digest[3:], None]:
        with pytest.raises(InvalidInput):
            check_digest(bad)  # type: ignore[arg-type]


def test_hashing_reader_passes_bytes_and_verifies() -> None:
    data = os.urandom(100_000)
    reader = HashingReader(io.BytesIO(data), blake3(data).hexdigest())
    chunks = []
    while chunk := reader.read(4096):
        chunks.append(chunk)
    assert b"".join(chunks) == data
    assert reader.hexdigest() == blake3(data).hexdigest()
    assert reader.size == len(data)


def test_hashing_reader_raises_at_eof_and_keeps_raising() -> None:
    data = os.urandom(10_000)
    reader = HashingReader(io.BytesIO(data), blake3(b"other").hexdigest(), what="blob X")
    assert len(reader.read(5000)) == 5000
    assert len(reader.read(5000)) == 5000
    with pytest.raises(IntegrityFailure) as caught:
        reader.read(5000)
    assert "blob X" in caught.value.message
    with pytest.raises(IntegrityFailure):
        reader.read(5000)


def test_hashing_reader_read_all_and_readinto() -> None:
    data = b"hello world"
    with pytest.raises(IntegrityFailure):
        HashingReader(io.BytesIO(data), blake3(b"nope").hexdigest()).read()
    reader = HashingReader(io.BytesIO(data), blake3(data).hexdigest())
    buffer = bytearray(5)
    assert reader.readinto(buffer) == 5
    assert bytes(buffer) == b"hello"
    assert reader.read() == b" world"


def test_hashing_reader_closes_its_source() -> None:
    source = io.BytesIO(b"abc")
    with HashingReader(source):
        pass
    assert source.closed
