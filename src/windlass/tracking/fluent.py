"""Runs in the SDK: the ``client.runs`` namespace and the flat functions over the default client.

A :class:`Runs` belongs to one :class:`windlass.Client`: it holds that client's stack of
active runs, its metric buffer and its heartbeat. ``log_metric`` only appends to the
buffer, which a background thread flushes in batches; ``flush()``, the end of a run and
interpreter exit wait for it. The module-level functions (``windlass.start_run``,
``windlass.log_metric``, ...) act on the default client (:func:`default_client`).
"""

from __future__ import annotations

import atexit
import socket
import sys
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from windlass import config
from windlass.entities import (
    ArtifactEntry,
    ArtifactListing,
    DatasetInput,
    MetricPoint,
    Project,
    Run,
    RunStatus,
    ViewType,
)
from windlass.exceptions import (
    DeliveryFailed,
    InvalidInput,
    InvalidState,
    PermissionDenied,
    Unauthenticated,
)
from windlass.ids import now_ms
from windlass.tracking import context
from windlass.tracking import validation as v

if TYPE_CHECKING:
    import pandas as pd

    from windlass.tracking.buffer import MetricBuffer
    from windlass.tracking.context import SdkClient
    from windlass.tracking.heartbeat import Heartbeat

_INT64 = 2**63


class ActiveRun:
    """A run started by :func:`start_run`; use it as a context manager to end it."""

    def __init__(self, run: Run, project: str, runs: Runs) -> None:
        self._runs = runs
        self.id = run.id
        self.name = run.name
        self.project = project
        self.project_id = run.project_id
        self.parent_run_id = run.parent_run_id

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        self._runs.end(status, run_id=self.id)

    def __repr__(self) -> str:
        return f"ActiveRun(id={self.id!r}, name={self.name!r}, project={self.project!r})"


class Runs:
    """The ``client.runs`` namespace: start, log to, end, read and search runs.

    It holds its client's active-run stack, metric buffer and heartbeat; two clients
    never share them, so each logs to its own store (also from different threads).
    """

    def __init__(self, client: SdkClient) -> None:
        self._client = client
        self._lock = threading.RLock()
        self._stack: list[ActiveRun] = []
        self._buffer: MetricBuffer | None = None
        self._heartbeat: Heartbeat | None = None
        self._swept = False
        self._valid_keys: set[str] = set()

    # -- the active-run stack -----------------------------------------------------------
    def start(
        self,
        name: str | None = None,
        *,
        nested: bool = False,
        parent_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        project: str | None = None,
        run_id: str | None = None,
    ) -> ActiveRun:
        """Start (or, with ``run_id``, resume) a run and make it the active run.

        With a run already active, pass ``nested=True`` to start a child of it.
        """
        from windlass.tracking.source import collect_source

        service = self._client.tracking
        with self._lock:
            _install_process_hooks()
            self._sweep_once()
            stack = self._stack
            if stack and not nested and parent_run_id is None and run_id is None:
                raise InvalidState(
                    f"run {stack[-1].id} is already active; end it first or pass nested=True",
                    run_id=stack[-1].id,
                )
            if nested and parent_run_id is None and stack:
                parent_run_id = stack[-1].id
            project_name = project or self._client.current_project()
            if run_id is not None:
                run = service.get_run(run_id)
                if run.deleted:
                    raise InvalidState(f"run {run_id} is deleted; restore it to resume it")
                run = service.update_run(run_id, status=RunStatus.RUNNING)
                service.heartbeat(run_id)
            else:
                run = service.create_run(
                    self._client.project_id(project_name),
                    name=name,
                    parent_run_id=parent_run_id,
                    source=collect_source(),
                    tags=tags,
                )
            active = ActiveRun(run, project_name, self)
            stack.append(active)
            if self._heartbeat is None:
                from windlass.tracking.heartbeat import Heartbeat

                self._heartbeat = Heartbeat(service.heartbeat, config.settings.heartbeat_seconds)
            self._heartbeat.add(run.id)
            _clients_with_runs.add(self)
        return active

    def _sweep_once(self) -> None:
        if self._swept:
            return
        self._swept = True
        service = self._client.tracking
        try:
            service.fail_dead_local_runs(socket.gethostname())
            service.fail_stale_runs(config.settings.stale_run_seconds)
        except (PermissionDenied, Unauthenticated):
            # A sweep over every project is a server admin's (with auth on); for anyone
            # else it is best effort: the server sweeps stale runs itself.
            pass

    def active(self) -> ActiveRun | None:
        """Return the innermost active run of this client, or None."""
        stack = self._stack
        return stack[-1] if stack else None

    def run_id(self, run_id: str | None = None) -> str:
        """Return ``run_id``, else the active run's id (InvalidState when there is none)."""
        if run_id is not None:
            return run_id
        stack = self._stack
        if not stack:
            raise InvalidState("no active run: call windlass.start_run() first or pass run_id=")
        return stack[-1].id

    def end(
        self, status: RunStatus | str = RunStatus.FINISHED, *, run_id: str | None = None
    ) -> Run:
        """End the active run (or ``run_id``): flush its metrics, then set its status."""
        rid = self.run_id(run_id)
        self.flush()
        with self._lock:
            self._stack = [r for r in self._stack if r.id != rid]
            if self._heartbeat is not None:
                self._heartbeat.discard(rid)
        return self._client.tracking.end_run(rid, RunStatus(status))

    # -- metrics ------------------------------------------------------------------------
    def _metric_buffer(self) -> MetricBuffer:
        buffer = self._buffer
        if buffer is None:
            with self._lock:
                if self._buffer is None:
                    from windlass.tracking.buffer import MetricBuffer

                    self._buffer = MetricBuffer(self._client.tracking.log_metrics)
                buffer = self._buffer
        return buffer

    def log_metric(
        self,
        key: str,
        value: float,
        step: int | None = None,
        timestamp: int | None = None,
        *,
        run_id: str | None = None,
    ) -> None:
        """Buffer one metric point; returns at once (no I/O)."""
        stack = self._stack
        rid = run_id or (stack[-1].id if stack else self.run_id(None))
        if key not in self._valid_keys:
            v.key("metric", key)
            self._valid_keys.add(key)
        if type(value) is not float:
            value = v.metric_value(key, value)
        if step is None:
            step = 0
        elif type(step) is not int or not -_INT64 <= step < _INT64:
            step = v.step(key, step)
        ts = now_ms() if timestamp is None else v.timestamp(key, timestamp)
        self._metric_buffer().add(rid, key, value, step, ts)

    def log_metrics(
        self,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
        *,
        run_id: str | None = None,
    ) -> None:
        """Buffer several metrics at the same step and time."""
        ts = now_ms() if timestamp is None else timestamp
        for key, value in metrics.items():
            self.log_metric(key, value, step, ts, run_id=run_id)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every buffered metric point is stored; raise if any were lost."""
        buffer = self._buffer
        if buffer is None:
            return
        if not buffer.flush(timeout):
            raise DeliveryFailed(
                f"{buffer.pending} metric points still buffered after {timeout}s",
                pending=buffer.pending,
            )
        errors = buffer.take_errors()
        if errors:
            raise DeliveryFailed("; ".join(errors), lost=len(errors))

    # -- params, tags, artifacts, inputs ------------------------------------------------
    def log_param(self, key: str, value: Any, *, run_id: str | None = None) -> None:
        """Log one immutable param."""
        self._client.tracking.log_params(self.run_id(run_id), {key: value})

    def log_params(self, params: Mapping[str, Any], *, run_id: str | None = None) -> None:
        """Log immutable params (values are stored as text)."""
        self._client.tracking.log_params(self.run_id(run_id), params)

    def set_tag(self, key: str, value: Any, *, run_id: str | None = None) -> None:
        """Set one tag."""
        self._client.tracking.set_tags(self.run_id(run_id), {key: value})

    def set_tags(self, tags: Mapping[str, Any], *, run_id: str | None = None) -> None:
        """Set tags (values are stored as text)."""
        self._client.tracking.set_tags(self.run_id(run_id), tags)

    def log_artifact(
        self, local_path: str | Path, artifact_path: str | None = None, *, run_id: str | None = None
    ) -> list[ArtifactEntry]:
        """Upload a file or folder to the run's artifacts (streamed, deduplicated)."""
        return self._client.tracking.log_artifact(self.run_id(run_id), local_path, artifact_path)

    def log_input(
        self,
        data: Any,
        name: str,
        *,
        context: str = "training",
        source: str | None = None,
        run_id: str | None = None,
    ) -> DatasetInput:
        """Record that the run read a dataset (a DataFrame, an array, or a file or folder path).

        Stores its content digest, row count and column types; a model registered from this
        run lists it in its lineage.
        """
        from windlass.tracking.inputs import describe_input

        rid = self.run_id(run_id)
        described = describe_input(data, name, context=context, source=source)
        self._client.tracking.log_inputs(rid, [described])
        return described

    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        """Return the datasets a run read, in logging order."""
        return self._client.tracking.list_inputs(run_id)

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactListing]:
        """List one folder level of a run's artifacts."""
        return self._client.tracking.list_artifacts(run_id, path)

    def download_artifacts(self, run_id: str, path: str = "", dst: str | Path = ".") -> Path:
        """Download a file or folder of a run's artifacts under ``dst``; return its local path."""
        return self._client.tracking.download_artifacts(run_id, path, dst)

    # -- reading, deleting, searching ---------------------------------------------------
    def get(self, run_id: str) -> Run:
        """Return a run: params, tags, latest metrics, status, source."""
        self.flush()
        return self._client.tracking.get_run(run_id)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Return every point of a metric, in step order."""
        self.flush()
        return list(self._client.tracking.get_metric_history(run_id, key))

    def delete(self, run_id: str) -> Run:
        """Soft-delete a run."""
        return self._client.tracking.delete_run(run_id)

    def restore(self, run_id: str) -> Run:
        """Restore a deleted run."""
        return self._client.tracking.restore_run(run_id)

    def search(
        self,
        project: str | list[str] | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        max_results: int = 1000,
        output_format: Literal["pandas", "list"] = "pandas",
        view: ViewType | str = ViewType.ACTIVE,
    ) -> pd.DataFrame | list[Run]:
        """Return runs matching ``filter`` (see docs/search.md) as a DataFrame or a list."""
        if max_results < 1:
            raise InvalidInput(f"max_results must be positive, got {max_results}")
        self.flush()
        projects = [project] if isinstance(project, str) else project
        if projects is None:
            projects = [self._client.current_project()]
        service = self._client.tracking
        runs: list[Run] = []
        token: str | None = None
        while len(runs) < max_results:
            page = service.search_runs(
                projects,
                filter,
                order_by,
                min(max_results - len(runs), 5000),
                token,
                ViewType(view),
            )
            runs.extend(page.items)
            if page.next_page_token is None:
                break
            token = page.next_page_token
        if output_format == "list":
            return runs
        if output_format != "pandas":
            raise InvalidInput(f"output_format must be 'pandas' or 'list', got {output_format!r}")
        from windlass.tracking.frames import runs_to_frame

        return runs_to_frame(runs)

    # -- shutting down ------------------------------------------------------------------
    def close(self, *, end_runs: bool = True) -> None:
        """Flush and stop the buffer and heartbeat; end the active runs unless told not to.

        Runs left running (``end_runs=False``) are failed later by the stale-run sweep.
        """
        with self._lock:
            if self._buffer is not None:
                self._buffer.close()
                self._buffer = None
            if end_runs and self._stack:
                status = RunStatus.FAILED if _crashed.is_set() else RunStatus.FINISHED
                for run in reversed(self._stack):
                    try:
                        self._client.tracking.end_run(run.id, status)
                    except Exception as exc:
                        print(f"windlass: could not end run {run.id}: {exc}", file=sys.stderr)
            self._stack = []
            if self._heartbeat is not None:
                self._heartbeat.stop()
                self._heartbeat = None
            self._swept = False
            _clients_with_runs.discard(self)


# -- the flat functions: the default client's runs -------------------------------------
def default_client() -> SdkClient:
    """Return the default client the flat functions act on (see ``windlass.client``)."""
    return context.default_client()


def set_tracking_uri(uri: str | None) -> None:
    """Choose where the SDK writes (None: ``WINDLASS_TRACKING_URI`` or the embedded default).

    This replaces the default client; runs it had active are left to the stale-run sweep.
    """
    if uri is not None:
        from windlass.uris import store_kind

        store_kind(uri)
    context.replace_default(uri)


def get_tracking_uri() -> str:
    """Return the URI the SDK writes to."""
    chosen = context.chosen_uri()
    return chosen or config.settings.tracking_uri or config.default_store_uri()


def set_project(name: str) -> Project:
    """Make ``name`` the current project (created on first use) and return it."""
    return default_client().set_project(name)


def current_project() -> str:
    """Return the current project name (``WINDLASS_PROJECT`` unless set)."""
    return default_client().current_project()


def list_projects() -> list[Project]:
    """Return every project, by name."""
    return default_client().list_projects()


def start_run(
    name: str | None = None,
    *,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    project: str | None = None,
    run_id: str | None = None,
) -> ActiveRun:
    """Start (or, with ``run_id``, resume) a run and make it the active run.

    With a run already active, pass ``nested=True`` to start a child of it.
    """
    return default_client().runs.start(
        name, nested=nested, parent_run_id=parent_run_id, tags=tags, project=project, run_id=run_id
    )


def active_run() -> ActiveRun | None:
    """Return the innermost active run, or None."""
    return default_client().runs.active()


def end_run(status: RunStatus | str = RunStatus.FINISHED, *, run_id: str | None = None) -> Run:
    """End the active run (or ``run_id``): flush its metrics, then set its status."""
    return default_client().runs.end(status, run_id=run_id)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    timestamp: int | None = None,
    *,
    run_id: str | None = None,
) -> None:
    """Buffer one metric point; returns at once (no I/O)."""
    default_client().runs.log_metric(key, value, step, timestamp, run_id=run_id)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    timestamp: int | None = None,
    *,
    run_id: str | None = None,
) -> None:
    """Buffer several metrics at the same step and time."""
    default_client().runs.log_metrics(metrics, step, timestamp, run_id=run_id)


def flush(timeout: float | None = None) -> None:
    """Wait until every buffered metric point is stored; raise if any were lost."""
    client = context.current_default()
    if client is not None:
        client.runs.flush(timeout)


def log_param(key: str, value: Any, *, run_id: str | None = None) -> None:
    """Log one immutable param."""
    default_client().runs.log_param(key, value, run_id=run_id)


def log_params(params: Mapping[str, Any], *, run_id: str | None = None) -> None:
    """Log immutable params (values are stored as text)."""
    default_client().runs.log_params(params, run_id=run_id)


def set_tag(key: str, value: Any, *, run_id: str | None = None) -> None:
    """Set one tag."""
    default_client().runs.set_tag(key, value, run_id=run_id)


def set_tags(tags: Mapping[str, Any], *, run_id: str | None = None) -> None:
    """Set tags (values are stored as text)."""
    default_client().runs.set_tags(tags, run_id=run_id)


def log_artifact(
    local_path: str | Path, artifact_path: str | None = None, *, run_id: str | None = None
) -> list[ArtifactEntry]:
    """Upload a file or folder to the run's artifacts (streamed, deduplicated)."""
    return default_client().runs.log_artifact(local_path, artifact_path, run_id=run_id)


def log_input(
    data: Any,
    name: str,
    *,
    context: str = "training",
    source: str | None = None,
    run_id: str | None = None,
) -> DatasetInput:
    """Record that the run read a dataset (a DataFrame, an array, or a file or folder path).

    Stores its content digest, row count and column types; a model registered from this run
    lists it in its lineage.
    """
    return default_client().runs.log_input(
        data, name, context=context, source=source, run_id=run_id
    )


def list_inputs(run_id: str) -> list[DatasetInput]:
    """Return the datasets a run read, in logging order."""
    return default_client().runs.list_inputs(run_id)


def list_artifacts(run_id: str, path: str = "") -> list[ArtifactListing]:
    """List one folder level of a run's artifacts."""
    return default_client().runs.list_artifacts(run_id, path)


def download_artifacts(run_id: str, path: str = "", dst: str | Path = ".") -> Path:
    """Download a file or folder of a run's artifacts under ``dst``; return its local path."""
    return default_client().runs.download_artifacts(run_id, path, dst)


def get_run(run_id: str) -> Run:
    """Return a run: params, tags, latest metrics, status, source."""
    return default_client().runs.get(run_id)


def get_metric_history(run_id: str, key: str) -> list[MetricPoint]:
    """Return every point of a metric, in step order."""
    return default_client().runs.get_metric_history(run_id, key)


def delete_run(run_id: str) -> Run:
    """Soft-delete a run."""
    return default_client().runs.delete(run_id)


def restore_run(run_id: str) -> Run:
    """Restore a deleted run."""
    return default_client().runs.restore(run_id)


def search_runs(
    project: str | list[str] | None = None,
    filter: str | None = None,
    order_by: list[str] | None = None,
    max_results: int = 1000,
    output_format: Literal["pandas", "list"] = "pandas",
    view: ViewType | str = ViewType.ACTIVE,
) -> pd.DataFrame | list[Run]:
    """Return runs matching ``filter`` (docs/search.md): a DataFrame (a list without pandas)."""
    return default_client().runs.search(project, filter, order_by, max_results, output_format, view)


# -- what a run needs from the interpreter ---------------------------------------------
#: Runs namespaces with active runs: interpreter exit ends their runs.
_clients_with_runs: weakref.WeakSet[Runs] = weakref.WeakSet()
_crashed = threading.Event()
_hooks_lock = threading.Lock()
_hooks_installed = False


def _end_all_runs() -> None:
    for runs in list(_clients_with_runs):
        runs.close()


def _install_process_hooks() -> None:
    """Install, once per process, what an active run needs from the interpreter.

    An uncaught exception marks the runs failed (the previous ``sys.excepthook`` still
    runs) and interpreter exit ends them and flushes buffered metrics. Importing windlass
    installs neither: the first run does, so a program that never starts one keeps its
    own hooks untouched.
    """
    global _hooks_installed
    with _hooks_lock:
        if _hooks_installed:
            return
        previous = sys.excepthook

        def excepthook(
            exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
        ) -> None:
            _crashed.set()
            previous(exc_type, exc, tb)

        sys.excepthook = excepthook
        atexit.register(_end_all_runs)
        _hooks_installed = True
