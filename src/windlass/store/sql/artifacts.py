"""The SQL artifact index: which files a run's artifacts hold (path, digest, size)."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from windlass.entities import ArtifactEntry, ArtifactListing
from windlass.exceptions import ArtifactNotFound, Conflict
from windlass.ids import now_ms
from windlass.store.artifacts import ArtifactIndex
from windlass.store.sql import lookups
from windlass.store.sql import schema as s
from windlass.store.sql.database import Database


def _file_and_folder(run_id: str, path: str, below: str) -> Conflict:
    return Conflict(
        f"artifact path {path!r} of run {run_id} cannot be both a file and a folder (of "
        f"{below!r}); log the file under another name",
        run_id=run_id,
        path=path,
        conflicting_path=below,
    )


class SqlArtifactIndex(ArtifactIndex):
    """A run's artifact files over SQLAlchemy Core (a path logged again is replaced)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record_artifacts(self, run_id: str, entries: list[ArtifactEntry]) -> None:
        """Record files of a run's artifacts (a path logged again is replaced)."""
        if not entries:
            return
        with self._db.write() as conn:
            lookups.require_run(conn, run_id, writable=True)
            self._check_file_or_folder(conn, run_id, [e.path for e in entries])
            stmt = self._db.insert(s.artifacts)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_id", "path"],
                    set_={
                        "digest": stmt.excluded.digest,
                        "size": stmt.excluded.size,
                        "created_at": stmt.excluded.created_at,
                    },
                ),
                [
                    {
                        "run_id": run_id,
                        "path": e.path,
                        "digest": e.digest,
                        "size": e.size,
                        "created_at": now_ms(),
                    }
                    for e in entries
                ],
            )

    @staticmethod
    def _check_file_or_folder(conn: Connection, run_id: str, paths: list[str]) -> None:
        """Raise Conflict if a path would be a file and a folder (``a`` and ``a/b``).

        Checked among the new paths and against the run's stored files; logging a file
        at a stored file's path again replaces it and is fine.
        """
        new = set(paths)
        a = s.artifacts
        folders: dict[str, str] = {}  # folder -> a new path below it
        for path in new:
            parts = path.split("/")
            for end in range(1, len(parts)):
                folders.setdefault("/".join(parts[:end]), path)
        for folder, below in sorted(folders.items()):
            if folder in new:
                raise _file_and_folder(run_id, folder, below)
        if folders:
            hit = conn.execute(
                select(a.c.path).where(a.c.run_id == run_id, a.c.path.in_(sorted(folders))).limit(1)
            ).scalar()
            if hit is not None:
                raise _file_and_folder(run_id, hit, folders[hit])
        ordered = sorted(new)
        for start in range(0, len(ordered), 200):
            chunk = ordered[start : start + 200]
            under = or_(*(func.substr(a.c.path, 1, len(p) + 1) == p + "/" for p in chunk))
            hit = conn.execute(
                select(a.c.path).where(a.c.run_id == run_id, under).limit(1)
            ).scalar()
            if hit is not None:
                folder = next(p for p in chunk if hit.startswith(p + "/"))
                raise _file_and_folder(run_id, folder, hit)

    def walk_artifacts(self, run_id: str, path: str = "") -> list[ArtifactEntry]:
        """Return every file under ``path``."""
        a = s.artifacts
        query = select(a.c.path, a.c.digest, a.c.size).where(a.c.run_id == run_id)
        if path:
            prefix = path.rstrip("/") + "/"
            query = query.where(
                or_(a.c.path == path, func.substr(a.c.path, 1, len(prefix)) == prefix)
            )
        with self._db.read() as conn:
            lookups.require_run(conn, run_id)
            rows = conn.execute(query.order_by(a.c.path)).all()
        return [ArtifactEntry(r.path, r.digest, r.size) for r in rows]

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactListing]:
        """List one folder level of a run's artifacts."""
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        listing: dict[str, ArtifactListing] = {}
        for entry in self.walk_artifacts(run_id, prefix.rstrip("/")):
            if entry.path == prefix.rstrip("/"):
                continue
            rest = entry.path[len(prefix) :]
            head, sep, _tail = rest.partition("/")
            if sep:
                listing.setdefault(head, ArtifactListing(prefix + head, True))
            else:
                listing[head] = ArtifactListing(entry.path, False, entry.size, entry.digest)
        return [listing[k] for k in sorted(listing)]

    def get_artifact(self, run_id: str, path: str) -> ArtifactEntry:
        """Return one file's entry."""
        a = s.artifacts
        with self._db.read() as conn:
            lookups.require_run(conn, run_id)
            row = conn.execute(
                select(a.c.path, a.c.digest, a.c.size).where(a.c.run_id == run_id, a.c.path == path)
            ).first()
        if row is None:
            raise ArtifactNotFound(
                f"run {run_id} has no artifact file {path!r}", run_id=run_id, path=path
            )
        return ArtifactEntry(row.path, row.digest, row.size)
