"""The tracking domain: every tracking operation, over any metadata store and blob store.

Both faces (the SDK and the REST server) call this class; it validates input, fills in
ids, times and run sources, and is the one place that writes tracking data. Every public
method first asks its :class:`~windlass.access.gate.Access` whether the principal may act
(READ for reads, WRITE for writes, ADMIN for deleting and restoring runs); a run addressed
by id is checked in its project, and a principal without any role there gets the very
``RunNotFound`` a missing run gets. Every mutation then appends one audit record
(:mod:`windlass.access.actions`). Heartbeats and the stale-run sweeps are not audited:
they are liveness and housekeeping, not changes anyone made.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from windlass.access import actions
from windlass.access.bound import Bound, require_project_creator
from windlass.access.gate import Access
from windlass.access.policy import Permission
from windlass.artifacts.cas import BlobStore
from windlass.artifacts.hashing import hash_file
from windlass.artifacts.paths import (
    canonical_artifact_path,
    clean_artifact_path,
    confined_destination,
    walk_local,
)
from windlass.entities import (
    ArtifactEntry,
    ArtifactListing,
    DatasetInput,
    MetricBatch,
    MetricPoint,
    Page,
    Project,
    Run,
    RunSource,
    RunStatus,
    ViewType,
)
from windlass.entities.jsondata import plain_json
from windlass.exceptions import (
    ArtifactNotFound,
    InvalidInput,
    InvalidState,
    ProjectNotFound,
    RunNotFound,
)
from windlass.ids import is_id, new_id, now_ms, writer_id
from windlass.principal import Principal, local_principal
from windlass.store.metadata import MetadataStore
from windlass.tracking import validation as v
from windlass.tracking.source import process_alive

_INT64 = 2**63
MAX_INPUTS_PER_CALL = 1000
#: How many run ids' projects are remembered (a run never changes project).
RUN_PROJECT_CACHE_SIZE = 10_000
#: How many artifact paths an audit record lists.
MAX_AUDITED_PATHS = 100
_READ, _WRITE, _ADMIN = Permission.READ, Permission.WRITE, Permission.ADMIN


def missing_run(run_id: str) -> RunNotFound:
    """Return the error of a run id that names no run (what the store raises, word for word)."""
    return RunNotFound(f"run {run_id} does not exist", run_id=run_id)


def run_uri(run_id: str) -> str:
    """Return the URI of a run in audit records."""
    return f"runs:/{run_id}"


class Tracking(Bound):
    """Tracking operations over one metadata store and one blob store, as one principal.

    ``principal`` is who writes are recorded against unless a call passes its own (default:
    :func:`~windlass.principal.local_principal`; a server binds each request's with
    :meth:`acting_as`). ``access`` checks permissions and records mutations (default: off).
    """

    def __init__(
        self,
        store: MetadataStore,
        blobs: BlobStore,
        *,
        principal: Principal | None = None,
        access: Access | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self._run_projects: dict[str, str] = {}
        self._bind(access, principal if principal is not None else local_principal())

    # -- access --------------------------------------------------------------------------
    def _checks(self) -> bool:
        """Return whether a call must know its run's project (auth on, or an audit sink)."""
        return self._access.enabled or self._access.audit is not None

    def _run_project(self, run_id: str) -> str:
        """Return the project id of a run (RunNotFound if there is none), remembered."""
        project_id = self._run_projects.get(run_id)
        if project_id is None:
            project_id = self.store.runs.get_run(run_id).project_id
            self._remember_project(run_id, project_id)
        return project_id

    def _remember_project(self, run_id: str, project_id: str) -> None:
        """Remember the project of a run (a run never moves between projects)."""
        if len(self._run_projects) >= RUN_PROJECT_CACHE_SIZE:
            self._run_projects.clear()
        self._run_projects[run_id] = project_id

    def _require_run(self, who: Principal, permission: Permission, run_id: str) -> str | None:
        """Check ``permission`` in the run's project; return that project (None: unchecked).

        A principal without any role in the run's project gets the run's not-found error,
        so it cannot tell the run exists. Nothing is looked up with auth off and no audit.
        """
        if not self._checks():
            return None
        self._access.require(who, Permission.AUTHENTICATED)
        project_id = self._run_project(run_id)
        self._access.require(who, permission, project_id, hidden=missing_run(run_id))
        return project_id

    def _record(
        self,
        who: Principal,
        action: str,
        run_id: str,
        project_id: str | None,
        *,
        before: Any = None,
        after: Any = None,
    ) -> None:
        self._access.record(
            who, action, run_uri(run_id), project_id=project_id, before=before, after=after
        )

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    # -- projects ------------------------------------------------------------------------
    def project(
        self,
        name: str,
        *,
        project_id: str | None = None,
        created_at: int | None = None,
        principal: Principal | None = None,
    ) -> Project:
        """Return the project named ``name``, creating it on first use.

        A new project gets ``project_id`` (the writer's; default: a new one) and
        ``created_at`` (default: now); an existing one is returned as it is. With auth on,
        returning a project needs read in it, and creating one needs a server admin
        (PermissionDenied naming the project otherwise).
        """
        who = self._who(principal)
        name = v.project_name(name)
        project_id = writer_id("project", project_id)
        if self._access.enabled:
            self._access.require(who, Permission.AUTHENTICATED)
            try:
                existing = self.store.runs.get_project(name)
            except ProjectNotFound:
                pass
            else:
                self._access.require(who, _READ, existing.id)
                return existing
            require_project_creator(self._access, who, name)
        with self.store.transaction():
            project = self.store.runs.get_or_create_project(
                name, project_id, now_ms() if created_at is None else created_at
            )
            if project.id == project_id:
                self._access.record(
                    who,
                    actions.PROJECT_CREATE,
                    f"projects:/{project.name}",
                    project_id=project.id,
                    after=project.to_dict(),
                )
        return project

    def get_project(self, name_or_id: str, *, principal: Principal | None = None) -> Project:
        """Return an existing project by name or id (with auth on: one the caller may read)."""
        who = self._who(principal)
        if not self._access.enabled:
            return self.store.runs.get_project(name_or_id)
        self._access.require(who, Permission.AUTHENTICATED)
        project = self.store.runs.get_project(name_or_id)
        self._access.require(who, _READ, project.id)
        return project

    def list_projects(
        self,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> Page[Project]:
        """Return one page of projects, by name.

        With auth on, only the projects the caller has a role in are listed (a page may
        then hold fewer than ``max_results`` and still have a next page).
        """
        who = self._who(principal)
        self._access.require(who, Permission.AUTHENTICATED)
        page = self.store.runs.list_projects(max_results, page_token)
        if not self._access.enabled:
            return page
        policy = self._access.policy
        return dataclasses.replace(
            page, items=[p for p in page.items if policy.allows(who, _READ, p.id)]
        )

    # -- runs ----------------------------------------------------------------------------
    def create_run(
        self,
        project_id: str,
        *,
        name: str | None = None,
        parent_run_id: str | None = None,
        source: RunSource | None = None,
        tags: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        start_time: int | None = None,
        principal: Principal | None = None,
    ) -> Run:
        """Start a run in the project with id ``project_id``; returns it running.

        The run's ``source.user`` is the name of ``principal`` (default: this service's),
        whatever ``source`` says: who ran it is never a caller's claim.

        A client-chosen ``run_id`` makes the call idempotent: the same call again returns
        the run; the id again with another project, name, start time or parent is
        IdConflict. A retry that leaves the name or start time out gets the stored ones.
        """
        who = self._who(principal)
        self._access.require(who, _WRITE, project_id)
        if run_id is not None and not is_id(run_id):
            raise InvalidInput(f"run id {run_id!r} is not 32 hex characters")
        if parent_run_id is not None and not is_id(parent_run_id):
            raise InvalidInput(f"parent run id {parent_run_id!r} is not 32 hex characters")
        if run_id is not None and (name is None or start_time is None):
            try:
                earlier = self.store.runs.get_run(run_id)
            except RunNotFound:
                pass
            else:
                name = earlier.name if name is None else name
                start_time = earlier.start_time if start_time is None else start_time
        run_id = run_id or new_id()
        clean_tags = {v.key("tag", k): v.tag_value(k, val) for k, val in (tags or {}).items()}
        if source is not None and source.system:  # free-form: what every store can hold
            source = dataclasses.replace(
                source, system=plain_json("the run source's system", source.system)
            )
        with self.store.transaction():
            run = self.store.runs.create_run(
                run_id=run_id,
                project_id=project_id,
                name=v.run_name(name or f"run-{run_id[-8:]}"),
                start_time=now_ms() if start_time is None else start_time,
                parent_run_id=parent_run_id,
                source=dataclasses.replace(source or RunSource(), user=who.name),
                tags=clean_tags,
            )
            self._record(who, actions.RUN_CREATE, run.id, run.project_id, after=run.to_dict())
        if self._checks():
            self._remember_project(run.id, run.project_id)
        return run

    def get_run(self, run_id: str, *, principal: Principal | None = None) -> Run:
        """Return a run with params, tags and latest metrics."""
        self._require_run(self._who(principal), _READ, run_id)
        return self.store.runs.get_run(run_id)

    def end_run(
        self,
        run_id: str,
        status: RunStatus = RunStatus.FINISHED,
        end_time: int | None = None,
        *,
        principal: Principal | None = None,
    ) -> Run:
        """End a run with a terminal status."""
        who = self._who(principal)
        project_id = self._require_run(who, _WRITE, run_id)
        status = RunStatus(status)
        if not status.is_terminal:
            raise InvalidInput(f"end_run needs a terminal status, got {status.value!r}")
        return self._updated(
            who, run_id, project_id, status=status, end_time=end_time or now_ms(), name=None
        )

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        name: str | None = None,
        principal: Principal | None = None,
    ) -> Run:
        """Change a run's status, end time or name."""
        who = self._who(principal)
        project_id = self._require_run(who, _WRITE, run_id)
        return self._updated(
            who,
            run_id,
            project_id,
            status=None if status is None else RunStatus(status),
            end_time=end_time,
            name=None if name is None else v.run_name(name),
        )

    def _updated(
        self,
        who: Principal,
        run_id: str,
        project_id: str | None,
        *,
        status: RunStatus | None,
        end_time: int | None,
        name: str | None,
    ) -> Run:
        """Store a run's change and record it (the changed fields, before and after)."""
        with self.store.transaction():
            return self._update_recorded(who, run_id, project_id, status, end_time, name)

    def _update_recorded(
        self,
        who: Principal,
        run_id: str,
        project_id: str | None,
        status: RunStatus | None,
        end_time: int | None,
        name: str | None,
    ) -> Run:
        # The audit record needs the changed fields' old values only: the run's own row.
        before = self.store.runs.get_run_head(run_id) if self._access.audit is not None else None
        run = self.store.runs.update_run(run_id, status=status, end_time=end_time, name=name)
        if before is not None:
            fields = [
                f
                for f, given in (("status", status), ("end_time", end_time), ("name", name))
                if given is not None
            ]
            old, new = before.to_dict(), run.to_dict()
            self._record(
                who,
                actions.RUN_UPDATE,
                run_id,
                project_id or run.project_id,
                before={f: old[f] for f in fields},
                after={f: new[f] for f in fields},
            )
        return run

    def heartbeat(
        self, run_id: str, at: int | None = None, *, principal: Principal | None = None
    ) -> None:
        """Record that the process running ``run_id`` is alive (now, unless ``at`` is given).

        Not audited: a liveness ping is no change anyone made.
        """
        if self._access.enabled:
            self._require_run(self._who(principal), _WRITE, run_id)
        self.store.runs.heartbeat(run_id, at or now_ms())

    def delete_run(self, run_id: str, *, principal: Principal | None = None) -> Run:
        """Soft-delete a run (it can be restored); needs admin in its project."""
        who = self._who(principal)
        project_id = self._require_run(who, _ADMIN, run_id)
        return self._set_deleted(who, run_id, project_id, deleted=True)

    def restore_run(self, run_id: str, *, principal: Principal | None = None) -> Run:
        """Restore a deleted run; needs admin in its project."""
        who = self._who(principal)
        project_id = self._require_run(who, _ADMIN, run_id)
        if not self.store.runs.get_run_head(run_id).deleted:
            raise InvalidState(f"run {run_id} is not deleted", run_id=run_id)
        return self._set_deleted(who, run_id, project_id, deleted=False)

    def _set_deleted(
        self, who: Principal, run_id: str, project_id: str | None, *, deleted: bool
    ) -> Run:
        """Store a run's deletion or restoration and its audit record, in one transaction."""
        with self.store.transaction():
            run = self.store.runs.set_run_deleted(run_id, deleted, now_ms())
            self._record(
                who,
                actions.RUN_DELETE if deleted else actions.RUN_RESTORE,
                run_id,
                project_id,
                before={"deleted": not deleted},
                after={"deleted": deleted},
            )
        return run

    def fail_stale_runs(
        self, stale_seconds: float, *, principal: Principal | None = None
    ) -> list[str]:
        """Mark running runs without a heartbeat for ``stale_seconds`` failed.

        A sweep over every project: with auth on it needs a server admin (the server's own
        sweeper runs unchecked). Not audited: housekeeping, not a change anyone made.
        """
        return self.fail_runs_silent_since(
            now_ms() - int(stale_seconds * 1000), principal=principal
        )

    def fail_runs_silent_since(
        self, heartbeat_before: int, *, principal: Principal | None = None
    ) -> list[str]:
        """Mark failed the running runs whose last heartbeat is before ``heartbeat_before``.

        Needs a server admin with auth on; not audited (see :meth:`fail_stale_runs`).
        """
        self._access.require(self._who(principal), Permission.SERVER_ADMIN)
        return self.store.runs.fail_stale_runs(heartbeat_before)

    def fail_dead_local_runs(self, host: str, *, principal: Principal | None = None) -> list[str]:
        """Mark failed the running runs started on ``host`` whose process no longer exists.

        Needs a server admin with auth on; not audited (see :meth:`fail_stale_runs`).
        """
        self._access.require(self._who(principal), Permission.SERVER_ADMIN)
        dead: list[str] = []
        page_token: str | None = None
        while True:
            page = self.store.runs.search_runs(
                None,
                f"status = 'running' and host = '{host.replace(chr(39), chr(39) * 2)}'",
                max_results=1000,
                page_token=page_token,
            )
            for run in page.items:
                if run.source.pid is not None and not process_alive(run.source.pid):
                    self.store.runs.update_run(
                        run.id, status=RunStatus.FAILED, end_time=run.heartbeat_at or now_ms()
                    )
                    dead.append(run.id)
            if page.next_page_token is None:
                return dead
            page_token = page.next_page_token

    # -- params, tags, metrics -----------------------------------------------------------
    def log_params(
        self, run_id: str, params: Mapping[str, Any], *, principal: Principal | None = None
    ) -> None:
        """Log immutable params (values stored as text), recorded as logged by ``principal``.

        ``principal`` defaults to this service's.
        """
        who = self._who(principal)
        project_id = self._require_run(who, _WRITE, run_id)
        clean = {v.key("param", k): v.param_value(k, val) for k, val in params.items()}
        with self.store.transaction():
            self.store.runs.log_params(run_id, clean, logged_by=who.name)
            self._record(who, actions.RUN_PARAMS, run_id, project_id, after=clean)

    def set_tags(
        self, run_id: str, tags: Mapping[str, Any], *, principal: Principal | None = None
    ) -> None:
        """Set tags (values stored as text)."""
        who = self._who(principal)
        project_id = self._require_run(who, _WRITE, run_id)
        clean = {v.key("tag", k): v.tag_value(k, val) for k, val in tags.items()}
        with self.store.transaction():
            self.store.runs.set_tags(run_id, clean)
            self._record(who, actions.RUN_TAGS, run_id, project_id, after=clean)

    def delete_tag(self, run_id: str, key: str, *, principal: Principal | None = None) -> None:
        """Remove a tag."""
        who = self._who(principal)
        project_id = self._require_run(who, _WRITE, run_id)
        key = v.key("tag", key)
        with self.store.transaction():
            self.store.runs.delete_tag(run_id, key)
            self._record(who, actions.RUN_TAG_DELETE, run_id, project_id, before={"key": key})

    def log_metrics(self, batch: MetricBatch, *, principal: Principal | None = None) -> int:
        """Validate and store a batch of metric points; returns how many were stored.

        Needs write in the project of every run of the batch; one audit record per batch
        (count, keys and runs; never the values).
        """
        who = self._who(principal)
        project_id: str | None = None
        if self._checks():
            self._access.require(who, Permission.AUTHENTICATED)
            for run_id in dict.fromkeys(batch.run_ids):
                checked = self._require_run(who, _WRITE, run_id)
                project_id = project_id or checked
        if not is_id(batch.id):
            raise InvalidInput(f"metric batch id {batch.id!r} is not 32 hex characters")
        if (
            len(
                {
                    len(batch.run_ids),
                    len(batch.keys),
                    len(batch.values),
                    len(batch.steps),
                    len(batch.timestamps),
                }
            )
            != 1
        ):
            raise InvalidInput(
                "metric batch columns run_ids, keys, values, steps and "
                "timestamps must have the same length"
            )
        seen: set[str] = set()
        for index, key in enumerate(batch.keys):
            if key not in seen:
                v.key("metric", key)
                seen.add(key)
            value = batch.values[index]
            if type(value) is not float:
                batch.values[index] = v.metric_value(key, value)
            step, ts = batch.steps[index], batch.timestamps[index]
            if type(step) is not int or not -_INT64 <= step < _INT64:
                batch.steps[index] = v.step(key, step)
            if type(ts) is not int or not 0 <= ts < _INT64:
                batch.timestamps[index] = v.timestamp(key, ts)
        if self._access.audit is None or not batch.run_ids:
            return self.store.runs.log_metrics(batch)
        with self.store.transaction():
            stored = self.store.runs.log_metrics(batch)
            self._record(
                who,
                actions.RUN_METRICS,
                batch.run_ids[0],
                project_id,
                after={
                    "count": len(batch.keys),
                    "stored": stored,
                    "keys": sorted(seen),
                    "run_ids": list(dict.fromkeys(batch.run_ids)),
                },
            )
        return stored

    def metric_history_page(
        self,
        run_id: str,
        key: str,
        max_results: int = 100_000,
        page_token: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> Page[MetricPoint]:
        """Return one page of a metric's points in step order."""
        self._require_run(self._who(principal), _READ, run_id)
        return self.store.runs.get_metric_history(run_id, key, max_results, page_token)

    def get_metric_history(
        self, run_id: str, key: str, *, principal: Principal | None = None
    ) -> Iterator[MetricPoint]:
        """Yield every point of a metric in step order, page by page."""
        self._require_run(self._who(principal), _READ, run_id)
        return self._metric_points(run_id, key)

    def _metric_points(self, run_id: str, key: str) -> Iterator[MetricPoint]:
        token: str | None = None
        while True:
            page = self.store.runs.get_metric_history(run_id, key, page_token=token)
            yield from page.items
            if page.next_page_token is None:
                return
            token = page.next_page_token

    # -- dataset inputs ------------------------------------------------------------------
    def log_inputs(
        self, run_id: str, inputs: list[DatasetInput], *, principal: Principal | None = None
    ) -> None:
        """Record datasets a run read; the same (name, digest, context) again is a no-op."""
        who = self._who(principal)
        project_id = self._require_run(who, _WRITE, run_id)
        if not isinstance(inputs, list) or len(inputs) > MAX_INPUTS_PER_CALL:
            raise InvalidInput(
                f"log_inputs takes a list of at most {MAX_INPUTS_PER_CALL} dataset inputs"
            )
        unique: dict[tuple[str, str, str], DatasetInput] = {}
        for item in inputs:
            checked = v.dataset_input(item)
            unique.setdefault((checked.name, checked.digest, checked.context), checked)
        with self.store.transaction():
            self.store.runs.log_inputs(run_id, list(unique.values()))
            self._record(
                who,
                actions.RUN_INPUTS,
                run_id,
                project_id,
                after=[d.to_dict() for d in unique.values()],
            )

    def list_inputs(self, run_id: str, *, principal: Principal | None = None) -> list[DatasetInput]:
        """Return the datasets a run read, in the order they were first logged."""
        self._require_run(self._who(principal), _READ, run_id)
        return self.store.runs.list_inputs(run_id)

    # -- search --------------------------------------------------------------------------
    def search_runs(
        self,
        projects: list[str] | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view: ViewType = ViewType.ACTIVE,
        *,
        principal: Principal | None = None,
    ) -> Page[Run]:
        """Return one page of runs matching ``filter`` (projects by name or id).

        With auth on, each named project needs read (PermissionDenied otherwise); no
        project named searches the projects the caller has a role in.
        """
        who = self._who(principal)
        if self._access.enabled:
            projects = self._readable_projects(who, projects)
            if projects is not None and not projects:
                return Page([], None)
        return self.store.runs.search_runs(
            projects, filter, order_by, max_results, page_token, ViewType(view)
        )

    def _readable_projects(self, who: Principal, projects: list[str] | None) -> list[str] | None:
        """Return the ids of the named projects once each is readable (None: every project)."""
        self._access.require(who, Permission.AUTHENTICATED)
        if projects is None:
            if who.server_admin:
                return None
            return [p for p, _role in who.roles if who.role_in(p) is not None]
        ids = []
        for name in projects:
            project_id = self.store.runs.get_project(name).id
            self._access.require(who, _READ, project_id)
            ids.append(project_id)
        return ids

    # -- artifacts -----------------------------------------------------------------------
    def log_artifact(
        self,
        run_id: str,
        local_path: str | Path,
        artifact_path: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> list[ArtifactEntry]:
        """Upload a file, or a folder (as ``<artifact_path>/<folder name>/...``), to a run."""
        who = self._who(principal)
        project_id = self._require_run(who, _WRITE, run_id)
        local = Path(local_path)
        if not local.exists():
            raise InvalidInput(f"no such file or folder: {local}", path=str(local))
        prefix = clean_artifact_path(artifact_path) if artifact_path else ""
        base = local.name if local.is_dir() else ""
        entries: list[ArtifactEntry] = []
        for file, rel in walk_local(local):
            rel_path = posixpath.join(base, rel) if base else rel
            dest = clean_artifact_path(posixpath.join(prefix, rel_path) if prefix else rel_path)
            digest, size = hash_file(file)
            if not self.blobs.has(digest):
                digest, size = self.blobs.put_file(file)
            entries.append(ArtifactEntry(dest, digest, size))
        with self.store.transaction():
            self.store.artifacts.record_artifacts(run_id, entries)
            self._record_artifacts(who, run_id, project_id, entries)
        return entries

    def _record_artifacts(
        self, who: Principal, run_id: str, project_id: str | None, entries: list[ArtifactEntry]
    ) -> None:
        self._record(
            who,
            actions.RUN_ARTIFACTS,
            run_id,
            project_id,
            after={
                "count": len(entries),
                "paths": [e.path for e in entries[:MAX_AUDITED_PATHS]],
            },
        )

    def record_artifacts(
        self, run_id: str, entries: list[ArtifactEntry], *, principal: Principal | None = None
    ) -> None:
        """Record already-uploaded blobs as files of a run.

        Each path must be canonical (no empty or ``.`` segments, no trailing ``/``), each
        blob must exist with exactly the declared size, and no path may be both a file and
        a folder (``a`` and ``a/b``); otherwise nothing of the batch is recorded.
        """
        who = self._who(principal)
        project_id = self._require_run(who, _WRITE, run_id)
        self.store.runs.get_run(run_id)  # an unknown run is RunNotFound before any entry is read
        clean = []
        for entry in entries:
            path = canonical_artifact_path(entry.path)
            if entry.size < 0:
                raise InvalidInput(f"artifact {path!r} has a negative size", path=path)
            try:
                stored = self.blobs.size(entry.digest)
            except ArtifactNotFound:
                raise InvalidInput(
                    f"blob {entry.digest} of {path!r} was not uploaded",
                    digest=entry.digest,
                    path=path,
                ) from None
            if stored != entry.size:
                raise InvalidInput(
                    f"artifact {path!r} declares {entry.size} bytes but its blob "
                    f"{entry.digest} has {stored}",
                    path=path,
                    declared_size=entry.size,
                    blob_size=stored,
                )
            clean.append(ArtifactEntry(path, entry.digest, entry.size))
        with self.store.transaction():
            self.store.artifacts.record_artifacts(run_id, clean)
            self._record_artifacts(who, run_id, project_id, clean)

    def list_artifacts(
        self, run_id: str, path: str = "", *, principal: Principal | None = None
    ) -> list[ArtifactListing]:
        """List one folder level of a run's artifacts."""
        self._require_run(self._who(principal), _READ, run_id)
        return self.store.artifacts.list_artifacts(
            run_id, clean_artifact_path(path) if path else ""
        )

    def walk_artifacts(
        self, run_id: str, path: str = "", *, principal: Principal | None = None
    ) -> list[ArtifactEntry]:
        """Return every file under ``path`` of a run's artifacts."""
        self._require_run(self._who(principal), _READ, run_id)
        return self.store.artifacts.walk_artifacts(
            run_id, clean_artifact_path(path) if path else ""
        )

    def get_artifact(
        self, run_id: str, path: str, *, principal: Principal | None = None
    ) -> ArtifactEntry:
        """Return one artifact file's entry."""
        self._require_run(self._who(principal), _READ, run_id)
        return self.store.artifacts.get_artifact(run_id, clean_artifact_path(path))

    def download_artifacts(
        self, run_id: str, path: str, dest: str | Path, *, principal: Principal | None = None
    ) -> Path:
        """Download a file or folder of a run's artifacts under ``dest``; return its path.

        Existing files are replaced. Raises ArtifactNotFound if the run has nothing at
        ``path``, and InvalidInput, before writing anything, if ``dest`` or a file's place
        under it is taken by something of the other kind (a file where a folder goes, or
        a folder where a file goes), or if a file cannot be written.
        """
        clean = clean_artifact_path(path) if path else ""
        entries = self.walk_artifacts(run_id, clean, principal=principal)
        if not entries:
            raise ArtifactNotFound(
                f"run {run_id} has no artifacts under {path!r}", run_id=run_id, path=path
            )
        root = Path(dest)
        targets = [(entry, confined_destination(root, entry.path)) for entry in entries]
        target = root
        try:  # the OS may refuse even to look (a name over NAME_MAX): never a traceback
            for _entry, target in targets:
                _check_destination(root, target)
            target = root
            root.mkdir(parents=True, exist_ok=True)
            for entry, target in targets:
                target.parent.mkdir(parents=True, exist_ok=True)
                self.blobs.download_to(entry.digest, target)
        except OSError as error:
            raise InvalidInput(
                f"cannot write {str(target)!r}: {error.strerror or error}", path=str(target)
            ) from None
        return confined_destination(root, clean) if clean else root


def _check_destination(root: Path, target: Path) -> None:
    """Raise InvalidInput if a folder sits at ``target`` or a file at one of its folders."""
    if target.is_dir():
        raise InvalidInput(
            f"cannot download to {str(target)!r}: a folder is there", path=str(target)
        )
    folder = target.parent
    while True:
        if folder.exists() and not folder.is_dir():
            raise InvalidInput(
                f"cannot download under {str(folder)!r}: it is a file, not a folder",
                path=str(folder),
            )
        if folder == root or folder == folder.parent:
            return
        folder = folder.parent
