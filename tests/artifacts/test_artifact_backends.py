"""Choosing an artifact backend by URI scheme through the plugin hook."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import windlass.artifacts
from windlass.artifacts import (
    ContentAddressedStore,
    FsspecStorage,
    backend_schemes,
    open_blob_store,
    open_storage,
    uri_scheme,
)
from windlass.artifacts.storage import ByteStorage
from windlass.exceptions import InvalidUri
from windlass.plugins import hookimpl, plugin_manager


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("/tmp/artifacts", "file"),
        ("relative/folder", "file"),
        ("file:///tmp/a", "file"),
        ("S3://bucket/prefix", "s3"),
        ("gs://bucket", "gs"),
        ("C:\\artifacts", "file"),
    ],
)
def test_uri_scheme(uri: str, scheme: str) -> None:
    assert uri_scheme(uri) == scheme


def test_builtin_schemes_are_registered_through_the_hook() -> None:
    assert {"file", "s3"} <= set(backend_schemes())


def test_plain_path_and_file_uri_open_local_stores(tmp_path: Path) -> None:
    store = open_blob_store(str(tmp_path / "plain"))
    digest, _ = store.put_stream(io.BytesIO(b"abc"))
    assert isinstance(store, ContentAddressedStore)
    assert open_blob_store(f"file://{tmp_path / 'plain'}").has(digest)


def test_s3_uri_opens_an_s3_store(s3_root: str) -> None:
    store = open_blob_store(s3_root)
    digest, _ = store.put_stream(io.BytesIO(b"on s3"))
    assert store.has(digest)


def test_unknown_scheme_names_the_scheme_and_the_known_ones() -> None:
    with pytest.raises(InvalidUri) as caught:
        open_blob_store("ftp://example.com/artifacts")
    message = caught.value.message
    assert "'ftp'" in message
    assert "file" in message
    assert "s3" in message
    assert caught.value.details["scheme"] == "ftp"


@pytest.mark.parametrize("uri", ["", "   "])
def test_empty_uri_is_invalid(uri: str) -> None:
    with pytest.raises(InvalidUri):
        open_storage(uri)


class FolderPlugin:
    """A third-party plugin registering a scheme that maps onto a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @hookimpl
    def register_artifact_backends(
        self, register: Callable[[str, Callable[..., ByteStorage]], None]
    ) -> None:
        def factory(uri: str, options: object) -> ByteStorage:
            return FsspecStorage(str(self.root / uri.split("://", 1)[1]))

        register("folder", factory)


@pytest.fixture
def folder_plugin(tmp_path: Path) -> Iterator[Path]:
    manager = plugin_manager()
    plugin = FolderPlugin(tmp_path)
    manager.register(plugin, name="test-folder-plugin")
    try:
        yield tmp_path
    finally:
        manager.unregister(name="test-folder-plugin")


def test_third_party_backend_is_chosen_by_its_scheme(folder_plugin: Path) -> None:
    store = open_blob_store("folder://team-a")
    digest, _ = store.put_stream(io.BytesIO(b"plugged in"))
    assert (folder_plugin / "team-a" / "blobs" / digest[:2] / digest[2:4] / digest).exists()


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, windlass.artifacts; "
        "heavy = [m for m in ('fsspec', 's3fs', 'botocore', 'httpx', 'fastapi') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_curated_exports_exist() -> None:
    for name in windlass.artifacts.__all__:
        assert hasattr(windlass.artifacts, name), name
