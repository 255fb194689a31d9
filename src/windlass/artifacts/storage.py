"""Byte-level storage: the small backend interface under the content-addressed store.

A :class:`ByteStorage` stores opaque bytes under keys. A key is a relative POSIX path
(``blobs/ab/cd/abcd…``), cleaned with :func:`~windlass.artifacts.paths.clean_artifact_path`,
so no key can leave the storage root. Backends only move bytes; hashing, deduplication and
verification live above them in :mod:`windlass.artifacts.cas` and are never overridden.

:class:`FsspecStorage` is the built-in backend for local folders (plain paths and
``file://``) and ``s3://bucket/prefix`` (through s3fs; credentials come from the standard
AWS environment variables, the endpoint from ``WINDLASS_S3_ENDPOINT_URL``).
"""

from __future__ import annotations

import abc
import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, cast

from windlass import config
from windlass.artifacts.atomic import TEMP_PREFIX, write_atomically
from windlass.artifacts.hashing import CHUNK_SIZE, ReadableStream
from windlass.artifacts.paths import clean_artifact_path
from windlass.exceptions import ArtifactNotFound, BackendUnavailable, ConfigError, UnsafePath

# Object stores: bytes buffered per multipart part on write, and per ranged GET on read.
# S3 needs parts of at least 5 MiB. s3fs and botocore hold about four copies of a block
# at once, so 8 MiB keeps a transfer near 40 MiB of memory with few requests.
OBJECT_BLOCK_SIZE = 8 * 1024 * 1024
_LOCAL_PROTOCOLS = ("file", "local")


class ByteStorage(abc.ABC):
    """Bytes under relative POSIX keys below one root URI.

    Every method raises :class:`~windlass.exceptions.UnsafePath` for a key that would
    leave the root, and :class:`~windlass.exceptions.BackendUnavailable` when the
    backend cannot be reached.
    """

    root_uri: str

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Return whether an object is stored under ``key``."""

    @abc.abstractmethod
    def size(self, key: str) -> int:
        """Return the size in bytes of the object at ``key`` (ArtifactNotFound if missing)."""

    @abc.abstractmethod
    def open_read(self, key: str) -> BinaryIO:
        """Return a streaming binary reader of ``key`` (ArtifactNotFound if missing)."""

    @abc.abstractmethod
    def write_from(self, key: str, fileobj: ReadableStream) -> None:
        """Store everything ``fileobj`` yields under ``key``, atomically, in chunks.

        Readers see the old object or the complete new one, never a partial write; if
        ``fileobj`` raises, nothing is stored.
        """

    @abc.abstractmethod
    def move(self, src: str, dst: str) -> None:
        """Move the object at ``src`` to ``dst``, replacing ``dst`` (ArtifactNotFound if no src)."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object at ``key``; deleting a missing key does nothing."""

    @abc.abstractmethod
    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield, sorted, the keys of every object at or under folder ``prefix`` ("" = all)."""


class _SourceFailed(Exception):
    """Carries an error of the caller's stream past the storage's error mapping."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _GuardedSource:
    """Wraps the stream being stored so its own failures are not blamed on the storage."""

    def __init__(self, source: ReadableStream) -> None:
        self._source = source

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._source.read(size)
        except Exception as exc:
            raise _SourceFailed(exc) from exc


def _s3_defaults() -> dict[str, Any]:
    # New instance per storage: the s3fs instance cache would hand a later store (or a
    # later test session) a client bound to an old endpoint. Listings are not cached, so
    # objects written by other processes are seen at once.
    options: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    endpoint = config.settings.s3_endpoint_url
    if endpoint:
        options["client_kwargs"] = {"endpoint_url": endpoint}
    return options


def _merge_options(defaults: dict[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(defaults)
    for name, value in (given or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(name), Mapping):
            merged[name] = {**merged[name], **value}
        else:
            merged[name] = value
    return merged


class FsspecStorage(ByteStorage):
    """A :class:`ByteStorage` over fsspec: local folders and ``s3://bucket/prefix``.

    ``storage_options`` go to the fsspec file system (for S3 they are merged over the
    defaults; ``client_kwargs`` are merged key by key). Local writes go to a temporary
    file in the target folder and are renamed into place; object-store writes are atomic
    per PUT (a multipart upload is aborted if the source fails).
    """

    def __init__(self, root_uri: str, storage_options: Mapping[str, Any] | None = None) -> None:
        try:
            import fsspec
        except ImportError as exc:  # pragma: no cover - fsspec is a core dependency
            raise ConfigError("artifact storage needs fsspec: pip install fsspec") from exc
        self.root_uri = root_uri
        protocol, _ = fsspec.core.split_protocol(root_uri)
        self._local = protocol is None or protocol in _LOCAL_PROTOCOLS
        options = dict(storage_options or {})
        if protocol in ("s3", "s3a"):
            options = _merge_options(_s3_defaults(), storage_options)
        try:
            fs, root = fsspec.core.url_to_fs(root_uri, **options)
        except ImportError as exc:
            raise ConfigError(
                f"artifact URI {root_uri!r} needs an optional package ({exc}); "
                "for s3:// install windlass[s3]",
                uri=root_uri,
            ) from exc
        self._fs: Any = fs
        if self._local:
            self._root_path = Path(root).expanduser().resolve()
            self._root_path.mkdir(parents=True, exist_ok=True)
            self._root = self._root_path.as_posix()
        else:
            self._root = str(root).rstrip("/")

    def __repr__(self) -> str:
        return f"FsspecStorage({self.root_uri!r})"

    # -- keys ---------------------------------------------------------------------------

    def _path(self, key: str) -> str:
        clean = clean_artifact_path(key)
        if self._local:
            return str(self._local_path(clean))
        return f"{self._root}/{clean}"

    def _local_path(self, clean: str) -> Path:
        path = self._root_path / clean
        # A symlink planted inside the root must not lead a key outside it.
        if not path.resolve().is_relative_to(self._root_path):
            raise UnsafePath(
                f"storage key {clean!r} resolves outside the storage root {self._root!r}",
                path=clean,
            )
        return path

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        try:
            yield
        except _SourceFailed as failed:
            raise failed.error from None
        except FileNotFoundError:
            raise ArtifactNotFound(
                f"no object {key!r} in {self.root_uri!r}", key=key, root=self.root_uri
            ) from None
        except OSError as exc:
            raise BackendUnavailable(
                f"storage {self.root_uri!r} failed on {key!r}: {exc}", key=key, root=self.root_uri
            ) from exc
        except Exception as exc:
            # s3fs surfaces connection failures as botocore/aiohttp exceptions.
            if type(exc).__module__.split(".")[0] in ("botocore", "aiobotocore", "aiohttp"):
                raise BackendUnavailable(
                    f"storage {self.root_uri!r} is unreachable ({key!r}): {exc}",
                    key=key,
                    root=self.root_uri,
                ) from exc
            raise

    # -- ByteStorage ------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        """Return whether an object is stored under ``key``."""
        path = self._path(key)
        with self._errors(key):
            if self._local:
                return os.path.isfile(path)
            try:
                return bool(self._fs.info(path)["type"] == "file")
            except FileNotFoundError:
                return False

    def size(self, key: str) -> int:
        """Return the size in bytes of the object at ``key`` (ArtifactNotFound if missing)."""
        path = self._path(key)
        with self._errors(key):
            if self._local:
                if not os.path.isfile(path):
                    raise FileNotFoundError(path)
                return os.stat(path).st_size
            info = self._fs.info(path)
            if info["type"] != "file":
                raise FileNotFoundError(path)
            return int(info["size"])

    def open_read(self, key: str) -> BinaryIO:
        """Return a streaming binary reader of ``key`` (ArtifactNotFound if missing)."""
        path = self._path(key)
        with self._errors(key):
            if self._local:
                return open(path, "rb")
            return cast(BinaryIO, self._fs.open(path, "rb", block_size=OBJECT_BLOCK_SIZE))

    def write_from(self, key: str, fileobj: ReadableStream) -> None:
        """Store everything ``fileobj`` yields under ``key``, atomically, in chunks."""
        path = self._path(key)
        source = _GuardedSource(fileobj)
        with self._errors(key):
            if self._local:
                write_atomically(Path(path), source)
                return
            self._write_object(path, source)

    def _write_object(self, path: str, fileobj: ReadableStream) -> None:
        out = self._fs.open(path, "wb", block_size=OBJECT_BLOCK_SIZE)
        try:
            while chunk := fileobj.read(CHUNK_SIZE):
                out.write(chunk)
            out.close()
        except BaseException:
            # Abort the multipart upload and keep close() from committing a partial object.
            discard = getattr(out, "discard", None)
            if callable(discard):
                with contextlib.suppress(Exception):
                    discard()
            with contextlib.suppress(Exception):
                out.closed = True
            raise

    def move(self, src: str, dst: str) -> None:
        """Move the object at ``src`` to ``dst``, replacing ``dst`` (ArtifactNotFound if no src)."""
        src_path, dst_path = self._path(src), self._path(dst)
        with self._errors(src):
            if self._local:
                Path(dst_path).parent.mkdir(parents=True, exist_ok=True)
                os.replace(src_path, dst_path)
                return
            # S3 has no rename: a server-side copy, then the delete.
            self._fs.cp_file(src_path, dst_path)
            self._fs.rm_file(src_path)

    def delete(self, key: str) -> None:
        """Delete the object at ``key``; deleting a missing key does nothing."""
        path = self._path(key)
        with self._errors(key), contextlib.suppress(FileNotFoundError):
            if self._local:
                os.unlink(path)
            else:
                self._fs.rm_file(path)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield, sorted, the keys of every object at or under folder ``prefix`` ("" = all)."""
        base = self._path(prefix) if prefix.strip("/") else self._root
        with self._errors(prefix):
            if self._local:
                found = self._list_local(Path(base))
            else:
                found = [str(p) for p in self._fs.find(base)]
        root = f"{self._root}/"
        keys = []
        for path in found:
            if not path.startswith(root):
                continue
            key = path[len(root) :]
            if not key.rsplit("/", 1)[-1].startswith(TEMP_PREFIX):
                keys.append(key)
        return iter(sorted(keys))

    @staticmethod
    def _list_local(base: Path) -> list[str]:
        if base.is_file():
            return [base.as_posix()]
        found: list[str] = []
        for folder, _dirs, files in os.walk(base):
            found.extend(Path(folder, name).as_posix() for name in files)
        return found
