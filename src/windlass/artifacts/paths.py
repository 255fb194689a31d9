"""Artifact path safety: clean relative paths, confined folder walks, confined downloads.

An artifact path is a relative POSIX path (``model/weights.safetensors``). Every path that
comes from a user, a stored record or a server goes through :func:`clean_artifact_path`
before it names a file, so ``..``, absolute paths, drive letters, backslashes and control
characters can never reach the file system. Symlinks are checked where files are read
(:func:`walk_local`) and written (:func:`confined_destination`).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from windlass.exceptions import ArtifactNotFound, InvalidInput, UnsafePath

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _refuse(path: str, reason: str) -> UnsafePath:
    return UnsafePath(f"artifact path {path!r} is unsafe: {reason}", path=path, reason=reason)


def clean_artifact_path(path: str) -> str:
    """Return ``path`` as a normalized relative POSIX path, or raise :class:`UnsafePath`.

    Empty ``.`` components and repeated slashes are dropped (``a//./b`` becomes ``a/b``).
    Refused: empty paths, absolute paths, ``..`` components, Windows drive letters,
    backslashes and control characters (NUL included).
    """
    if not isinstance(path, str):
        raise UnsafePath(f"artifact path must be a string, not {type(path).__name__}")
    if "\x00" in path:
        raise _refuse(path, "it contains a NUL byte")
    if _CONTROL.search(path):
        raise _refuse(path, "it contains a control character")
    if "\\" in path:
        raise _refuse(path, "it contains a backslash; use '/' to separate folders")
    if path.startswith("/"):
        raise _refuse(path, "it is absolute; artifact paths are relative to their root")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _refuse(path, "it contains a '..' component")
    if not parts:
        raise _refuse(path, "it is empty")
    # Checked on the normalized path too: "./C:x" must not become "C:x".
    if _DRIVE.match(path) or _DRIVE.match(parts[0]):
        raise _refuse(path, "it starts with a drive letter")
    return "/".join(parts)


def canonical_artifact_path(path: str) -> str:
    """Return ``path`` if it is safe and canonical, for recording a new file.

    On top of :func:`clean_artifact_path`'s checks, empty segments (``a//b``, a trailing
    ``/``) and ``.`` segments are refused (InvalidInput) rather than normalized away: a
    file is recorded under exactly the name it was given.
    """
    clean = clean_artifact_path(path)
    if clean != path:
        raise InvalidInput(
            f"artifact path {path!r} has an empty or '.' segment (a '//', a leading './' or "
            f"a trailing '/'); name the file {clean!r}",
            path=path,
            suggestion=clean,
        )
    return clean


def walk_local(path: Path) -> Iterator[tuple[Path, str]]:
    """Yield ``(file, relative posix path)`` for a file, or for every file under a folder.

    A single file yields ``(file, file.name)``. A folder is walked in sorted order;
    symlinks are followed only while they resolve inside the folder (a symlink leading
    out, or a symlinked folder leading back to one of its ancestors, raises
    :class:`UnsafePath`). Sockets, FIFOs and devices are skipped. The yielded file is the
    resolved path, so a symlink swapped after the check cannot redirect the read.
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactNotFound(f"no file or folder at {str(path)!r}", path=str(path))
    if not path.is_dir():
        if not path.is_file():
            raise UnsafePath(f"{str(path)!r} is not a regular file", path=str(path))
        yield path.resolve(), clean_artifact_path(path.name)
        return
    root = path.resolve()
    yield from _walk_folder(root, root, "", (root,))


def _walk_folder(
    root: Path, folder: Path, prefix: str, ancestors: tuple[Path, ...]
) -> Iterator[tuple[Path, str]]:
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        rel = clean_artifact_path(f"{prefix}{entry.name}")
        target = Path(entry.path)
        if entry.is_symlink():
            resolved = target.resolve()
            if not resolved.is_relative_to(root):
                raise UnsafePath(
                    f"symlink {rel!r} points outside the folder being logged "
                    f"({str(root)!r}) to {str(resolved)!r}",
                    path=rel,
                )
            if not resolved.exists():
                raise ArtifactNotFound(f"symlink {rel!r} points to a missing file", path=rel)
            target = resolved
        mode = target.stat().st_mode
        if stat.S_ISDIR(mode):
            real = target.resolve()
            if real in ancestors:
                raise UnsafePath(f"symlink {rel!r} forms a loop back to {str(real)!r}", path=rel)
            yield from _walk_folder(root, real, f"{rel}/", (*ancestors, real))
        elif stat.S_ISREG(mode):
            yield target.resolve(), rel


def confined_destination(dest_root: Path, rel: str) -> Path:
    """Return where artifact ``rel`` goes under ``dest_root``, refusing any escape.

    ``rel`` is cleaned with :func:`clean_artifact_path`; the result is resolved
    (following symlinks already present under ``dest_root``) and must stay inside
    ``dest_root``, else :class:`UnsafePath` is raised.
    """
    clean = clean_artifact_path(rel)
    root = Path(dest_root).resolve()
    resolved = (root / clean).resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        raise UnsafePath(
            f"artifact path {rel!r} would be written outside {str(root)!r} (to {str(resolved)!r})",
            path=rel,
        )
    return resolved
