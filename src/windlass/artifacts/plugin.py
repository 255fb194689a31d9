"""The built-in artifact backends, registered through the same hook as third-party ones."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from windlass.artifacts.storage import ByteStorage, FsspecStorage
from windlass.plugins import hookimpl


def fsspec_storage(uri: str, options: Mapping[str, Any] | None = None) -> ByteStorage:
    """Return an :class:`~windlass.artifacts.storage.FsspecStorage` rooted at ``uri``."""
    return FsspecStorage(uri, options)


@hookimpl
def register_artifact_backends(register: Callable[[str, Callable[..., ByteStorage]], None]) -> None:
    """Register the ``file`` (local folders) and ``s3`` byte-storage backends."""
    register("file", fsspec_storage)
    register("s3", fsspec_storage)
