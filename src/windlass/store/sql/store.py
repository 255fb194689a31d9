"""The SQL metadata store: SQLite and PostgreSQL through SQLAlchemy Core."""

from __future__ import annotations

import contextlib
import hashlib
import math
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Row,
    String,
    and_,
    any_,
    bindparam,
    delete,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import Select

from windlass.entities import (
    STATUS_BY_VALUE,
    ArtifactEntry,
    ArtifactListing,
    MetricBatch,
    MetricPoint,
    MetricValue,
    Page,
    Project,
    Run,
    RunSource,
    RunStatus,
    ViewType,
)
from windlass.exceptions import (
    ArtifactNotFound,
    BackendUnavailable,
    Conflict,
    IdConflict,
    InvalidInput,
    InvalidState,
    ParamConflict,
    ProjectNotFound,
    RunNotFound,
)
from windlass.ids import is_id, now_ms
from windlass.store.bulk import paused_gc
from windlass.store.filters import parse_filter, parse_order_by
from windlass.store.paging import check_max_results, decode_keyset, decode_token, encode_token
from windlass.store.sql import schema as s
from windlass.store.sql.deployments import SqlDeployments
from windlass.store.sql.engine import create_store_engine
from windlass.store.sql.prompts import SqlPrompts
from windlass.store.sql.registry import SqlRegistry
from windlass.store.sql.search import compile_filter, plan_sort
from windlass.store.sql.traces import SqlTraces

MAX_SEARCH_RESULTS = 50_000
_RUN_COLUMNS = (
    "id",
    "project_id",
    "name",
    "status",
    "start_time",
    "end_time",
    "parent_run_id",
    "deleted",
    "deleted_at",
    "user",
    "git_commit",
    "git_dirty",
    "command",
    "system",
    "host",
    "pid",
    "heartbeat_at",
)
# _load_runs unpacks run rows by position: keep it in step with the table.
assert tuple(s.runs.c.keys()) == _RUN_COLUMNS
MAX_HISTORY_RESULTS = 1_000_000


def _batch_digest(batch: MetricBatch) -> str:
    """Return a digest of a batch's points: equal for a retry, different for other points."""
    columns = orjson.dumps([batch.run_ids, batch.keys, batch.steps, batch.timestamps])
    # Every NaN as one bit pattern; ints as the floats they are stored as.
    values = array("d", (math.nan if v != v else v for v in batch.values)).tobytes()
    return hashlib.sha256(columns + b"\0" + values).hexdigest()


def _file_and_folder(run_id: str, path: str, below: str) -> Conflict:
    return Conflict(
        f"artifact path {path!r} of run {run_id} cannot be both a file and a folder (of "
        f"{below!r}); log the file under another name",
        run_id=run_id,
        path=path,
        conflicting_path=below,
    )


def _same_run(conn: Connection, run_id: str, wanted: dict[str, Any]) -> None:
    """Raise IdConflict unless the stored run ``run_id`` has the ``wanted`` column values."""
    columns = [s.runs.c[name] for name in wanted]
    row = conn.execute(select(*columns).where(s.runs.c.id == run_id)).one()
    differ = sorted(
        name for name, stored in zip(wanted, row, strict=True) if stored != wanted[name]
    )
    if differ:
        raise IdConflict(
            f"run id {run_id} is already taken by a run with another "
            f"{', '.join(differ)}; a retry must send the same run (or use a new id)",
            run_id=run_id,
            fields=differ,
        )


class SqlStore(SqlRegistry, SqlDeployments, SqlTraces, SqlPrompts):
    """A :class:`MetadataStore` over SQLite (WAL) or PostgreSQL (psycopg 3).

    The model registry and run inputs live in :class:`~windlass.store.sql.registry.SqlRegistry`,
    deployments in :class:`~windlass.store.sql.deployments.SqlDeployments`.
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.engine: Engine = create_store_engine(uri)
        self._pg = self.engine.dialect.name == "postgresql"

    # -- plumbing ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(windlass_write=True) as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise BackendUnavailable(f"metadata store write failed: {exc.orig}") from exc

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise BackendUnavailable(f"metadata store read failed: {exc.orig}") from exc

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if self._pg else sqlite.insert)(table)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    # -- projects ------------------------------------------------------------------------
    @staticmethod
    def _project(row: Row[Any, Any]) -> Project:
        return Project(row.id, row.name, row.created_at, row.description)

    def get_or_create_project(self, name: str, project_id: str, created_at: int) -> Project:
        """Return the named project, creating it if needed (safe under concurrent creators).

        A name that exists returns its project (whatever id it has); ``project_id`` held by
        a project of another name is IdConflict.
        """
        with self._write() as conn:
            conn.execute(
                self._insert(s.projects)
                .values(id=project_id, name=name, description="", created_at=created_at)
                .on_conflict_do_nothing()  # the name or the id is taken
            )
            row = conn.execute(select(s.projects).where(s.projects.c.name == name)).first()
            if row is None:  # not inserted, and the name is free: the id is another's
                taken = conn.execute(
                    select(s.projects.c.name).where(s.projects.c.id == project_id)
                ).scalar_one()
                raise IdConflict(
                    f"project id {project_id} is already taken by project {taken!r}; a retry "
                    "must send the same name (or use a new id)",
                    id=project_id,
                    fields=["name"],
                )
        return self._project(row)

    def get_project(self, name_or_id: str) -> Project:
        """Return a project by name or id."""
        with self._read() as conn:
            row = conn.execute(
                select(s.projects).where(
                    or_(s.projects.c.name == name_or_id, s.projects.c.id == name_or_id)
                )
            ).first()
        if row is None:
            raise ProjectNotFound(f"project {name_or_id!r} does not exist", project=name_or_id)
        return self._project(row)

    def list_projects(self, max_results: int = 100, page_token: str | None = None) -> Page[Project]:
        """Return projects ordered by name."""
        check_max_results(max_results, 10_000)
        query = select(s.projects).order_by(s.projects.c.name).limit(max_results + 1)
        if page_token:
            after = decode_token(page_token, "projects", {"n": str})["n"]
            query = query.where(s.projects.c.name > after)
        with self._read() as conn:
            rows = conn.execute(query).all()
        items = [self._project(r) for r in rows[:max_results]]
        token = (
            encode_token({"k": "projects", "n": items[-1].name})
            if len(rows) > max_results
            else None
        )
        return Page(items, token)

    def _project_ids(self, names_or_ids: list[str]) -> list[str]:
        """Resolve project names or ids in one query; raise ProjectNotFound for a stranger."""
        pr = s.projects
        with self._read() as conn:
            rows = conn.execute(
                select(pr.c.id, pr.c.name).where(
                    or_(pr.c.name.in_(names_or_ids), pr.c.id.in_(names_or_ids))
                )
            ).all()
        known = {name for row in rows for name in row}
        for wanted in names_or_ids:
            if wanted not in known:
                raise ProjectNotFound(f"project {wanted!r} does not exist", project=wanted)
        return [row[0] for row in rows]

    # -- runs ----------------------------------------------------------------------------
    def _require_project(self, conn: Connection, project_id: str) -> None:
        if (
            conn.execute(select(s.projects.c.id).where(s.projects.c.id == project_id)).first()
            is None
        ):
            raise ProjectNotFound(f"project id {project_id!r} does not exist", project=project_id)

    def _require_run(
        self, conn: Connection, run_id: str, *, writable: bool = False
    ) -> Row[Any, Any]:
        if not is_id(run_id):
            raise RunNotFound(f"run {run_id!r} does not exist (not a run id)", run_id=run_id)
        row = conn.execute(
            select(s.runs.c.id, s.runs.c.deleted).where(s.runs.c.id == run_id)
        ).first()
        if row is None:
            raise RunNotFound(f"run {run_id} does not exist", run_id=run_id)
        if writable and row.deleted:
            raise InvalidState(
                f"run {run_id} is deleted; restore it before writing to it", run_id=run_id
            )
        return row

    def create_run(
        self,
        *,
        run_id: str,
        project_id: str,
        name: str,
        start_time: int,
        parent_run_id: str | None,
        source: RunSource,
        tags: dict[str, str],
    ) -> Run:
        """Create a running run (idempotent for the same id)."""
        with self._write() as conn:
            self._require_project(conn, project_id)
            if parent_run_id is not None:
                self._require_run(conn, parent_run_id)
            wanted = {
                "project_id": project_id,
                "name": name,
                "start_time": start_time,
                "parent_run_id": parent_run_id,
            }
            created = conn.execute(
                self._insert(s.runs)
                .values(
                    id=run_id,
                    project_id=project_id,
                    name=name,
                    status=RunStatus.RUNNING.value,
                    start_time=start_time,
                    end_time=None,
                    parent_run_id=parent_run_id,
                    deleted=False,
                    deleted_at=None,
                    user=source.user,
                    git_commit=source.git_commit,
                    git_dirty=source.git_dirty,
                    command=source.command,
                    system=orjson.dumps(source.system).decode(),
                    host=source.host,
                    pid=source.pid,
                    heartbeat_at=start_time,
                )
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(s.runs.c.id)
            ).first()
            if created is None:
                _same_run(conn, run_id, wanted)
            elif tags:
                conn.execute(
                    self._insert(s.tags),
                    [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()],
                )
        return self.get_run(run_id)

    def _in_ids(self, column: Any, ids: list[str]) -> ColumnElement[bool]:
        """``column IN ids`` as one bound parameter (no per-id placeholders to compile)."""
        if self._pg:
            return column == any_(bindparam("ids", ids, type_=ARRAY(String)))  # type: ignore[no-any-return]
        ids_table = func.json_each(bindparam("ids", orjson.dumps(ids).decode())).table_valued(
            "value"
        )
        return column.in_(select(ids_table.c.value))  # type: ignore[no-any-return]

    @staticmethod
    def _fetch(conn: Connection, statement: Any) -> list[Any]:
        """Return all rows as the driver's own tuples.

        SQLAlchemy's Row objects cost ~40% more on thousands of rows; every column read this
        way needs no type processing.
        """
        result = conn.execute(statement)
        try:
            return list(result.cursor.fetchall())
        finally:
            result.close()

    def _load_runs(self, conn: Connection, rows: Sequence[Any]) -> list[Run]:
        ids = [r[0] for r in rows]
        run_params: dict[str, dict[str, str]] = {i: {} for i in ids}
        run_tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        run_metrics: dict[str, dict[str, MetricValue]] = {i: {} for i in ids}
        if ids:
            p, t, lm = s.params, s.tags, s.latest_metrics
            for run_id, key, value in self._fetch(
                conn, select(p.c.run_id, p.c.key, p.c.value).where(self._in_ids(p.c.run_id, ids))
            ):
                run_params[run_id][key] = value
            for run_id, key, value in self._fetch(
                conn, select(t.c.run_id, t.c.key, t.c.value).where(self._in_ids(t.c.run_id, ids))
            ):
                run_tags[run_id][key] = value
            nan = math.nan
            for run_id, key, value, is_nan, step, ts in self._fetch(
                conn,
                select(
                    lm.c.run_id, lm.c.key, lm.c.value, lm.c.is_nan, lm.c.step, lm.c.timestamp
                ).where(self._in_ids(lm.c.run_id, ids)),
            ):
                run_metrics[run_id][key] = MetricValue(key, nan if is_nan else value, step, ts)
        loads = orjson.loads
        runs: list[Run] = []
        # Positional unpacking (the columns of s.runs, in order) is much faster than
        # attribute access on thousands of rows.
        for (
            run_id,
            project_id,
            name,
            status,
            start_time,
            end_time,
            parent_run_id,
            deleted,
            _deleted_at,
            user,
            git_commit,
            git_dirty,
            command,
            system,
            host,
            pid,
            heartbeat_at,
            *_sort,
        ) in rows:
            runs.append(
                Run(
                    id=run_id,
                    project_id=project_id,
                    name=name,
                    status=STATUS_BY_VALUE[status],
                    start_time=start_time,
                    end_time=end_time,
                    parent_run_id=parent_run_id,
                    deleted=bool(deleted),
                    heartbeat_at=heartbeat_at,
                    source=RunSource(
                        user=user,
                        git_commit=git_commit,
                        git_dirty=None if git_dirty is None else bool(git_dirty),
                        command=command,
                        system=loads(system or "{}"),
                        host=host,
                        pid=pid,
                    ),
                    params=run_params[run_id],
                    tags=run_tags[run_id],
                    metrics=run_metrics[run_id],
                )
            )
        return runs

    def get_run(self, run_id: str) -> Run:
        """Return one run with params, tags and latest metrics."""
        if not is_id(run_id):
            raise RunNotFound(f"run {run_id!r} does not exist (not a run id)", run_id=run_id)
        with self._read() as conn:
            row = conn.execute(select(s.runs).where(s.runs.c.id == run_id)).first()
            if row is None:
                raise RunNotFound(f"run {run_id} does not exist", run_id=run_id)
            return self._load_runs(conn, [row])[0]

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        name: str | None = None,
    ) -> Run:
        """Change status, end time or name."""
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = status.value
        if end_time is not None:
            values["end_time"] = end_time
        if name is not None:
            values["name"] = name
        with self._write() as conn:
            self._require_run(conn, run_id)
            if values:
                conn.execute(update(s.runs).where(s.runs.c.id == run_id).values(**values))
        return self.get_run(run_id)

    def heartbeat(self, run_id: str, at: int) -> None:
        """Record a heartbeat."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute(update(s.runs).where(s.runs.c.id == run_id).values(heartbeat_at=at))

    def fail_stale_runs(self, heartbeat_before: int) -> list[str]:
        """Mark running runs without a recent heartbeat failed; return their ids."""
        stale = and_(
            s.runs.c.status == RunStatus.RUNNING.value, s.runs.c.heartbeat_at < heartbeat_before
        )
        with self._write() as conn:
            ids = [r.id for r in conn.execute(select(s.runs.c.id).where(stale))]
            if ids:
                conn.execute(
                    update(s.runs)
                    .where(stale)
                    .values(status=RunStatus.FAILED.value, end_time=s.runs.c.heartbeat_at)
                )
        return ids

    def set_run_deleted(self, run_id: str, deleted: bool, at: int) -> Run:
        """Soft-delete or restore a run."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute(
                update(s.runs)
                .where(s.runs.c.id == run_id)
                .values(deleted=deleted, deleted_at=at if deleted else None)
            )
        return self.get_run(run_id)

    # -- params and tags -----------------------------------------------------------------
    def log_params(self, run_id: str, params: dict[str, str]) -> None:
        """Store immutable params."""
        if not params:
            return
        with self._write() as conn:
            self._require_run(conn, run_id, writable=True)
            conn.execute(
                self._insert(s.params).on_conflict_do_nothing(index_elements=["run_id", "key"]),
                [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()],
            )
            stored = dict(
                conn.execute(
                    select(s.params.c.key, s.params.c.value).where(
                        s.params.c.run_id == run_id, s.params.c.key.in_(list(params))
                    )
                ).all()
            )
            for key, value in params.items():
                if stored.get(key) != value:
                    conn.rollback()
                    raise ParamConflict(
                        f"param {key!r} of run {run_id} is already {stored.get(key)!r}; "
                        f"params cannot change (got {value!r})",
                        run_id=run_id,
                        key=key,
                        old_value=stored.get(key),
                        new_value=value,
                    )

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        """Set or overwrite tags."""
        if not tags:
            return
        with self._write() as conn:
            self._require_run(conn, run_id, writable=True)
            stmt = self._insert(s.tags)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_id", "key"], set_={"value": stmt.excluded.value}
                ),
                [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()],
            )

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag."""
        with self._write() as conn:
            self._require_run(conn, run_id, writable=True)
            conn.execute(delete(s.tags).where(s.tags.c.run_id == run_id, s.tags.c.key == key))

    # -- metrics -------------------------------------------------------------------------
    def log_metrics(self, batch: MetricBatch) -> int:
        """Store a batch of metric points (once per batch id)."""
        count = len(batch.keys)
        if not (
            len(batch.run_ids)
            == len(batch.values)
            == len(batch.steps)
            == len(batch.timestamps)
            == count
        ):
            raise InvalidInput("metric batch columns have different lengths")
        if count == 0:
            return 0
        rows: list[dict[str, Any]] = []
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for run_id, key, value, step, ts in zip(
            batch.run_ids, batch.keys, batch.values, batch.steps, batch.timestamps, strict=True
        ):
            nan = value != value
            row = {
                "run_id": run_id,
                "key": key,
                "step": step,
                "timestamp": ts,
                "value": None if nan else value,
                "is_nan": nan,
            }
            rows.append(row)
            best = latest.get((run_id, key))
            if best is None or (step, ts) >= (best["step"], best["timestamp"]):
                latest[(run_id, key)] = row
        digest = _batch_digest(batch)
        with self._write() as conn:
            fresh = conn.execute(
                self._insert(s.metric_batches)
                .values(id=batch.id, received_at=now_ms(), digest=digest)
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(s.metric_batches.c.id)
            ).first()
            if fresh is None:
                stored = conn.execute(
                    select(s.metric_batches.c.digest).where(s.metric_batches.c.id == batch.id)
                ).scalar()
                if stored is not None and stored != digest:
                    raise IdConflict(
                        f"metric batch {batch.id} was already stored with other points; a "
                        "retry must send the same points (or use a new batch id)",
                        batch_id=batch.id,
                    )
                return 0
            for run_id in {r for r, _k in latest}:
                self._require_run(conn, run_id, writable=True)
            conn.execute(s.metrics.insert(), rows)
            stmt = self._insert(s.latest_metrics)
            newer = or_(
                stmt.excluded.step > s.latest_metrics.c.step,
                and_(
                    stmt.excluded.step == s.latest_metrics.c.step,
                    stmt.excluded.timestamp >= s.latest_metrics.c.timestamp,
                ),
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_id", "key"],
                    set_={c: stmt.excluded[c] for c in ("step", "timestamp", "value", "is_nan")},
                    where=newer,
                ),
                list(latest.values()),
            )
        return count

    def get_metric_history(
        self, run_id: str, key: str, max_results: int = 100_000, page_token: str | None = None
    ) -> Page[MetricPoint]:
        """Return a metric's points in step order."""
        check_max_results(max_results, MAX_HISTORY_RESULTS)
        m = s.metrics
        query = (
            select(m.c.step, m.c.timestamp, m.c.value, m.c.is_nan, m.c.id)
            .where(m.c.run_id == run_id, m.c.key == key)
            .order_by(m.c.step, m.c.timestamp, m.c.id)
            .limit(max_results + 1)
        )
        if page_token:
            pos = decode_token(
                page_token, f"history:{run_id}:{key}", {"s": int, "t": int, "i": int}
            )
            query = query.where(
                tuple_(m.c.step, m.c.timestamp, m.c.id) > tuple_(pos["s"], pos["t"], pos["i"])
            )
        nan = math.nan
        with self._read() as conn, paused_gc():
            self._require_run(conn, run_id)
            rows = self._fetch(conn, query)
            points = [
                MetricPoint(key, nan if is_nan else value, step, ts)
                for step, ts, value, is_nan, _id in rows[:max_results]
            ]
        token = None
        if len(rows) > max_results:
            step, ts, _value, _nan, row_id = rows[max_results - 1]
            token = encode_token({"k": f"history:{run_id}:{key}", "s": step, "t": ts, "i": row_id})
        return Page(points, token)

    # -- search --------------------------------------------------------------------------
    def search_runs(
        self,
        projects: list[str] | None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view: ViewType = ViewType.ACTIVE,
    ) -> Page[Run]:
        """Return runs matching ``filter`` in ``order_by`` order, keyset-paged."""
        check_max_results(max_results, MAX_SEARCH_RESULTS)
        where = compile_filter(parse_filter(filter))
        keys = parse_order_by(order_by)
        query: Select[Any] = select(s.runs).where(where)
        project_ids = None if projects is None else self._project_ids(projects)
        if project_ids is not None:
            query = query.where(s.runs.c.project_id.in_(project_ids))
        if view is ViewType.ACTIVE:
            query = query.where(s.runs.c.deleted.is_(False))
        elif view is ViewType.DELETED:
            query = query.where(s.runs.c.deleted.is_(True))
        plan = plan_sort(query, keys)
        query = plan.query
        token_kind = "runs:" + "|".join(order_by or [])
        if page_token:
            values = decode_keyset(page_token, token_kind, plan.value_types())
            query = query.where(plan.keyset_after(values))
        query = query.limit(max_results + 1)
        with self._read() as conn, paused_gc():
            rows = self._fetch(conn, query)
            page_rows = rows[:max_results]
            items = self._load_runs(conn, page_rows)
        token = None
        if len(rows) > max_results:
            values = list(page_rows[-1][len(_RUN_COLUMNS) :])
            token = encode_token({"k": token_kind, "v": values})
        return Page(items, token)

    # -- artifact index ------------------------------------------------------------------
    def record_artifacts(self, run_id: str, entries: list[ArtifactEntry]) -> None:
        """Record files of a run's artifacts (a path logged again is replaced)."""
        if not entries:
            return
        with self._write() as conn:
            self._require_run(conn, run_id, writable=True)
            self._check_file_or_folder(conn, run_id, [e.path for e in entries])
            stmt = self._insert(s.artifacts)
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
        with self._read() as conn:
            self._require_run(conn, run_id)
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
        with self._read() as conn:
            self._require_run(conn, run_id)
            row = conn.execute(
                select(a.c.path, a.c.digest, a.c.size).where(a.c.run_id == run_id, a.c.path == path)
            ).first()
        if row is None:
            raise ArtifactNotFound(
                f"run {run_id} has no artifact file {path!r}", run_id=run_id, path=path
            )
        return ArtifactEntry(row.path, row.digest, row.size)
