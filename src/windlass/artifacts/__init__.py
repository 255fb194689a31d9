"""Artifact storage: content-addressed blobs over pluggable byte-storage backends.

``open_blob_store("/some/folder")`` or ``open_blob_store("s3://bucket/prefix")`` gives a
:class:`BlobStore`; the backend is chosen by URI scheme among those registered through
the ``register_artifact_backends`` hook (plain paths are ``file``). Importing this package
stays light: fsspec and s3fs load when a storage is opened, httpx with
:mod:`windlass.artifacts.http`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from windlass.artifacts.cas import BlobStore, ContentAddressedStore, blob_key
from windlass.artifacts.hashing import HASH_ALGORITHM, StreamHasher, hash_file
from windlass.artifacts.paths import clean_artifact_path, confined_destination, walk_local
from windlass.artifacts.storage import ByteStorage, FsspecStorage
from windlass.exceptions import InvalidUri

__all__ = [
    "HASH_ALGORITHM",
    "BlobStore",
    "ByteStorage",
    "ContentAddressedStore",
    "FsspecStorage",
    "StreamHasher",
    "backend_schemes",
    "blob_key",
    "clean_artifact_path",
    "confined_destination",
    "hash_file",
    "open_blob_store",
    "open_storage",
    "uri_scheme",
    "walk_local",
]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def uri_scheme(uri: str) -> str:
    """Return the lowercased scheme of artifact ``uri``; plain paths are ``file``."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidUri(f"artifact URI must be a non-empty string, not {uri!r}", uri=str(uri))
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else "file"


def backend_schemes() -> dict[str, Callable[..., ByteStorage]]:
    """Return every registered ``scheme -> factory(uri, options)`` byte-storage backend.

    pluggy calls the most recently registered plugins first, so a third-party plugin
    registering a scheme the built-ins also register takes precedence.
    """
    from windlass.plugins import collect

    factories: dict[str, Callable[..., ByteStorage]] = {}
    for scheme, factory in collect("register_artifact_backends"):
        factories.setdefault(str(scheme).lower(), factory)
    return factories


def open_storage(uri: str, options: Mapping[str, Any] | None = None) -> ByteStorage:
    """Return the :class:`ByteStorage` for artifact root ``uri``, chosen by its scheme."""
    scheme = uri_scheme(uri)
    factories = backend_schemes()
    try:
        factory = factories[scheme]
    except KeyError:
        known = ", ".join(sorted(factories)) or "none"
        raise InvalidUri(
            f"artifact URI {uri!r} has scheme {scheme!r}, which no artifact backend handles "
            f"(known schemes: {known})",
            uri=uri,
            scheme=scheme,
            known=sorted(factories),
        ) from None
    return factory(uri, options)


def open_blob_store(uri: str, options: Mapping[str, Any] | None = None) -> BlobStore:
    """Return a content-addressed :class:`BlobStore` rooted at artifact URI ``uri``."""
    return ContentAddressedStore(open_storage(uri, options))
