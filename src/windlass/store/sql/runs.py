"""The SQL run store: projects, runs, params, tags, metrics, run search and run inputs."""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    Row,
    and_,
    delete,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from windlass.entities import (
    STATUS_BY_VALUE,
    DatasetInput,
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
    IdConflict,
    InvalidInput,
    ParamConflict,
    ProjectNotFound,
    RunNotFound,
)
from windlass.ids import is_id, now_ms
from windlass.store.bulk import paused_gc
from windlass.store.filters import parse_filter, parse_order_by
from windlass.store.paging import check_max_results, decode_keyset, decode_token, encode_token
from windlass.store.runs import (
    MAX_HISTORY_RESULTS,
    MAX_PROJECT_RESULTS,
    MAX_SEARCH_RESULTS,
    RunStore,
)
from windlass.store.sql import lookups
from windlass.store.sql import schema as s
from windlass.store.sql.database import Database
from windlass.store.sql.governance import project_from_row
from windlass.store.sql.search import compile_filter, plan_sort

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


def _batch_digest(batch: MetricBatch) -> str:
    """Return a digest of a batch's points: equal for a retry, different for other points."""
    columns = orjson.dumps([batch.run_ids, batch.keys, batch.steps, batch.timestamps])
    # Every NaN as one bit pattern; ints as the floats they are stored as.
    values = array("d", (math.nan if v != v else v for v in batch.values)).tobytes()
    return hashlib.sha256(columns + b"\0" + values).hexdigest()


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


class SqlRunStore(RunStore):
    """Projects, runs, params, tags, metrics and run inputs over SQLAlchemy Core."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- projects ------------------------------------------------------------------------
    @staticmethod
    def _project(row: Row[Any, Any]) -> Project:
        return project_from_row(row)

    def get_or_create_project(self, name: str, project_id: str, created_at: int) -> Project:
        """Return the named project, creating it if needed (safe under concurrent creators).

        A name that exists returns its project (whatever id it has); ``project_id`` held by
        a project of another name is IdConflict.
        """
        with self._db.write() as conn:
            conn.execute(
                self._db.insert(s.projects)
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
        with self._db.read() as conn:
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
        check_max_results(max_results, MAX_PROJECT_RESULTS)
        query = select(s.projects).order_by(s.projects.c.name).limit(max_results + 1)
        if page_token:
            after = decode_token(page_token, "projects", {"n": str})["n"]
            query = query.where(s.projects.c.name > after)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        items = [self._project(r) for r in rows[:max_results]]
        token = (
            encode_token({"k": "projects", "n": items[-1].name})
            if len(rows) > max_results
            else None
        )
        return Page(items, token)

    # -- runs ----------------------------------------------------------------------------
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
        with self._db.write() as conn:
            lookups.require_project(conn, project_id)
            if parent_run_id is not None:
                lookups.require_run(conn, parent_run_id)
            wanted = {
                "project_id": project_id,
                "name": name,
                "start_time": start_time,
                "parent_run_id": parent_run_id,
            }
            created = conn.execute(
                self._db.insert(s.runs)
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
                    self._db.insert(s.tags),
                    [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()],
                )
        return self.get_run(run_id)

    def _load_runs(
        self, conn: Connection, rows: Sequence[Any], *, values: bool = True
    ) -> list[Run]:
        """Return the runs of ``rows``, with params, tags and metrics unless ``values`` is off."""
        ids = [r[0] for r in rows]
        run_params: dict[str, dict[str, str]] = {i: {} for i in ids}
        run_tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        run_metrics: dict[str, dict[str, MetricValue]] = {i: {} for i in ids}
        if ids and values:
            p, t, lm = s.params, s.tags, s.latest_metrics

            def of_runs(column: Any) -> Any:
                # One run (every get_run) compares plainly: no JSON array to expand.
                return column == ids[0] if len(ids) == 1 else self._db.in_ids(column, ids)

            for run_id, key, value in self._db.fetch(
                conn, select(p.c.run_id, p.c.key, p.c.value).where(of_runs(p.c.run_id))
            ):
                run_params[run_id][key] = value
            for run_id, key, value in self._db.fetch(
                conn, select(t.c.run_id, t.c.key, t.c.value).where(of_runs(t.c.run_id))
            ):
                run_tags[run_id][key] = value
            nan = math.nan
            for run_id, key, value, is_nan, step, ts in self._db.fetch(
                conn,
                select(
                    lm.c.run_id, lm.c.key, lm.c.value, lm.c.is_nan, lm.c.step, lm.c.timestamp
                ).where(of_runs(lm.c.run_id)),
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
        return self._get_run(run_id, values=True)

    def get_run_head(self, run_id: str) -> Run:
        """Return one run's own row: its params, tags and metrics are left empty."""
        return self._get_run(run_id, values=False)

    def _get_run(self, run_id: str, *, values: bool) -> Run:
        if not is_id(run_id):
            raise RunNotFound(f"run {run_id!r} does not exist (not a run id)", run_id=run_id)
        with self._db.read() as conn:
            row = conn.execute(select(s.runs).where(s.runs.c.id == run_id)).first()
            if row is None:
                raise RunNotFound(f"run {run_id} does not exist", run_id=run_id)
            return self._load_runs(conn, [row], values=values)[0]

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
        with self._db.write() as conn:
            lookups.require_run(conn, run_id)
            if values:
                conn.execute(update(s.runs).where(s.runs.c.id == run_id).values(**values))
        return self.get_run(run_id)

    def heartbeat(self, run_id: str, at: int) -> None:
        """Record a heartbeat."""
        with self._db.write() as conn:
            lookups.require_run(conn, run_id)
            conn.execute(update(s.runs).where(s.runs.c.id == run_id).values(heartbeat_at=at))

    def fail_stale_runs(self, heartbeat_before: int) -> list[str]:
        """Mark running runs without a recent heartbeat failed; return their ids."""
        stale = and_(
            s.runs.c.status == RunStatus.RUNNING.value, s.runs.c.heartbeat_at < heartbeat_before
        )
        with self._db.write() as conn:
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
        with self._db.write() as conn:
            lookups.require_run(conn, run_id)
            conn.execute(
                update(s.runs)
                .where(s.runs.c.id == run_id)
                .values(deleted=deleted, deleted_at=at if deleted else None)
            )
        return self.get_run(run_id)

    # -- params and tags -----------------------------------------------------------------
    def log_params(self, run_id: str, params: dict[str, str], *, logged_by: str = "") -> None:
        """Store immutable params, each new one recorded as logged by ``logged_by``."""
        if not params:
            return
        with self._db.write() as conn:
            lookups.require_run(conn, run_id, writable=True)
            conn.execute(
                self._db.insert(s.params).on_conflict_do_nothing(index_elements=["run_id", "key"]),
                [
                    {"run_id": run_id, "key": k, "value": v, "logged_by": logged_by}
                    for k, v in params.items()
                ],
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
        with self._db.write() as conn:
            lookups.require_run(conn, run_id, writable=True)
            stmt = self._db.insert(s.tags)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_id", "key"], set_={"value": stmt.excluded.value}
                ),
                [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()],
            )

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag."""
        with self._db.write() as conn:
            lookups.require_run(conn, run_id, writable=True)
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
        with self._db.write() as conn:
            fresh = conn.execute(
                self._db.insert(s.metric_batches)
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
                lookups.require_run(conn, run_id, writable=True)
            conn.execute(s.metrics.insert(), rows)
            stmt = self._db.insert(s.latest_metrics)
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
        with self._db.read() as conn, paused_gc():
            lookups.require_run(conn, run_id)
            rows = self._db.fetch(conn, query)
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
        project_ids = None
        if projects is not None:
            with self._db.read() as conn:
                project_ids = lookups.project_ids(conn, projects)
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
        with self._db.read() as conn, paused_gc():
            rows = self._db.fetch(conn, query)
            page_rows = rows[:max_results]
            items = self._load_runs(conn, page_rows)
        token = None
        if len(rows) > max_results:
            values = list(page_rows[-1][len(_RUN_COLUMNS) :])
            token = encode_token({"k": token_kind, "v": values})
        return Page(items, token)

    # -- run inputs ----------------------------------------------------------------------
    def log_inputs(self, run_id: str, inputs: list[DatasetInput]) -> None:
        """Record datasets a run read (the same name, digest and context again: no-op)."""
        with self._db.write() as conn:
            lookups.require_run(conn, run_id, writable=True)
            if not inputs:
                return
            conn.execute(
                self._db.insert(s.run_inputs).on_conflict_do_nothing(
                    index_elements=["run_id", "name", "digest", "context"]
                ),
                [
                    {
                        "run_id": run_id,
                        "name": d.name,
                        "digest": d.digest,
                        "context": d.context,
                        "source": d.source,
                        "num_rows": d.rows,
                        "dataset_schema": orjson.dumps(d.schema).decode(),
                    }
                    for d in inputs
                ],
            )

    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        """Return the datasets a run read, in the order they were first logged."""
        with self._db.read() as conn:
            lookups.require_run(conn, run_id)
            rows = conn.execute(
                select(
                    s.run_inputs.c.name,
                    s.run_inputs.c.digest,
                    s.run_inputs.c.context,
                    s.run_inputs.c.source,
                    s.run_inputs.c.num_rows,
                    s.run_inputs.c.dataset_schema,
                )
                .where(s.run_inputs.c.run_id == run_id)
                .order_by(s.run_inputs.c.id)
            ).all()
        return [
            DatasetInput(name, digest, context, source, num_rows, orjson.loads(schema))
            for name, digest, context, source, num_rows, schema in rows
        ]
