"""Move packaged models between a local folder and the blob store, by digest.

Uploads store each file once (content-addressed); downloads go through the blob store,
which checks every byte against the digest it is asked for, so a stored file that was
changed after registration is refused before any flavor sees it.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from windlass.artifacts.cas import BlobStore
from windlass.artifacts.paths import confined_destination, walk_local
from windlass.entities import MANIFEST_FILE, ArtifactEntry
from windlass.exceptions import IntegrityFailure, InvalidInput


def upload_folder(blobs: BlobStore, folder: Path) -> list[ArtifactEntry]:
    """Store every file of a model folder; return entries with paths relative to it."""
    from windlass.artifacts.hashing import hash_file

    entries: list[ArtifactEntry] = []
    for file, rel in walk_local(folder):
        digest, size = hash_file(file)
        if not blobs.has(digest):
            digest, size = blobs.put_file(file)
        entries.append(ArtifactEntry(rel, digest, size))
    if not any(e.path == MANIFEST_FILE for e in entries):
        raise InvalidInput(
            f"{folder} is not a windlass model: it has no {MANIFEST_FILE}", path=str(folder)
        )
    return entries


def prefixed(entries: list[ArtifactEntry], prefix: str) -> list[ArtifactEntry]:
    """Return ``entries`` with ``prefix/`` put in front of each path."""
    return [ArtifactEntry(posixpath.join(prefix, e.path), e.digest, e.size) for e in entries]


def relative(entries: list[ArtifactEntry], prefix: str) -> list[ArtifactEntry]:
    """Return the entries under ``prefix`` with paths relative to it."""
    base = prefix.strip("/")
    if not base:
        return list(entries)
    cut = len(base) + 1
    return [
        ArtifactEntry(e.path[cut:], e.digest, e.size)
        for e in entries
        if e.path.startswith(base + "/")
    ]


def download_files(blobs: BlobStore, files: list[ArtifactEntry], dest: Path) -> Path:
    """Download ``files`` under ``dest`` (each checked against its digest); return ``dest``."""
    if not any(e.path == MANIFEST_FILE for e in files):
        raise InvalidInput(f"these files are not a windlass model: no {MANIFEST_FILE}")
    dest.mkdir(parents=True, exist_ok=True)
    for entry in files:
        target = confined_destination(dest, entry.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            blobs.download_to(entry.digest, target)
        except IntegrityFailure as exc:
            raise IntegrityFailure(
                f"stored file {entry.path!r} of the model does not match its recorded hash "
                f"{entry.digest[:16]}…; it was changed after it was saved. Refusing to load: "
                f"{exc.message}",
                path=entry.path,
                digest=entry.digest,
            ) from None
    return dest
