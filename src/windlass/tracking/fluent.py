"""The fluent SDK: a current project, a stack of active runs, and buffered metric logging.

``windlass.log_metric`` only appends to an in-process buffer that a background thread
flushes in batches; ``flush()``, the end of a run and interpreter exit wait for it.
"""

from __future__ import annotations

import atexit
import socket
import sys
import threading
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
    all_pages,
)
from windlass.exceptions import DeliveryFailed, InvalidInput, InvalidState
from windlass.ids import now_ms
from windlass.tracking import validation as v

if TYPE_CHECKING:
    import pandas as pd

    from windlass.tracking.buffer import MetricBuffer
    from windlass.tracking.heartbeat import Heartbeat
    from windlass.tracking.service import Tracking


class ActiveRun:
    """A run started by :func:`start_run`; use it as a context manager to end it."""

    def __init__(self, run: Run, project: str) -> None:
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
        end_run(status, run_id=self.id)

    def __repr__(self) -> str:
        return f"ActiveRun(id={self.id!r}, name={self.name!r}, project={self.project!r})"


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.uri: str | None = None
        self.tracking: Tracking | None = None
        self.project: str | None = None
        self.project_ids: dict[str, str] = {}
        self.runs: list[ActiveRun] = []
        self.buffer: MetricBuffer | None = None
        self.heartbeat: Heartbeat | None = None
        self.swept = False
        self.crashed = False
        self.valid_keys: set[str] = set()


_state = _State()
_INT64 = 2**63


def _tracking() -> Tracking:
    with _state.lock:
        if _state.tracking is None:
            from windlass.tracking.backend import open_tracking

            _state.tracking = open_tracking(_state.uri)
        return _state.tracking


def _buffer() -> MetricBuffer:
    buffer = _state.buffer
    if buffer is None:
        with _state.lock:
            if _state.buffer is None:
                from windlass.tracking.buffer import MetricBuffer

                _state.buffer = MetricBuffer(_tracking().log_metrics)
            buffer = _state.buffer
    return buffer


def set_tracking_uri(uri: str | None) -> None:
    """Choose where the SDK writes (None: ``WINDLASS_TRACKING_URI`` or the embedded default)."""
    if uri is not None:
        from windlass.uris import store_kind

        store_kind(uri)
    with _state.lock:
        _shutdown(end_runs=False)
        _state.uri = uri
        _state.project_ids.clear()


def get_tracking_uri() -> str:
    """Return the URI the SDK writes to."""
    return _state.uri or config.settings.tracking_uri or config.default_store_uri()


def set_project(name: str) -> Project:
    """Make ``name`` the current project (created on first use) and return it."""
    project = _tracking().project(name)
    with _state.lock:
        _state.project = name
        _state.project_ids[name] = project.id
    return project


def _project_id(name: str) -> str:
    cached = _state.project_ids.get(name)
    if cached is None:
        cached = _tracking().project(name).id
        _state.project_ids[name] = cached
    return cached


def current_project() -> str:
    """Return the current project name (``WINDLASS_PROJECT`` unless set)."""
    return _state.project or config.settings.project


def list_projects() -> list[Project]:
    """Return every project, by name."""
    service = _tracking()
    return all_pages(lambda token: service.list_projects(1000, token))


def _sweep_once(service: Tracking) -> None:
    if _state.swept:
        return
    _state.swept = True
    service.fail_dead_local_runs(socket.gethostname())
    service.fail_stale_runs(config.settings.stale_run_seconds)


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
    from windlass.tracking.source import collect_source

    service = _tracking()
    with _state.lock:
        _install_process_hooks()
        _sweep_once(service)
        if _state.runs and not nested and parent_run_id is None and run_id is None:
            raise InvalidState(
                f"run {_state.runs[-1].id} is already active; end it first or pass nested=True",
                run_id=_state.runs[-1].id,
            )
        if nested and parent_run_id is None and _state.runs:
            parent_run_id = _state.runs[-1].id
        project_name = project or current_project()
        if run_id is not None:
            run = service.get_run(run_id)
            if run.deleted:
                raise InvalidState(f"run {run_id} is deleted; restore it to resume it")
            run = service.update_run(run_id, status=RunStatus.RUNNING)
            service.heartbeat(run_id)
        else:
            run = service.create_run(
                _project_id(project_name),
                name=name,
                parent_run_id=parent_run_id,
                source=collect_source(),
                tags=tags,
            )
        active = ActiveRun(run, project_name)
        _state.runs.append(active)
        if _state.heartbeat is None:
            from windlass.tracking.heartbeat import Heartbeat

            _state.heartbeat = Heartbeat(service.heartbeat, config.settings.heartbeat_seconds)
        _state.heartbeat.add(run.id)
    return active


def active_run() -> ActiveRun | None:
    """Return the innermost active run, or None."""
    return _state.runs[-1] if _state.runs else None


def _run_id(run_id: str | None) -> str:
    if run_id is not None:
        return run_id
    if not _state.runs:
        raise InvalidState("no active run: call windlass.start_run() first or pass run_id=")
    return _state.runs[-1].id


def end_run(status: RunStatus | str = RunStatus.FINISHED, *, run_id: str | None = None) -> Run:
    """End the active run (or ``run_id``): flush its metrics, then set its status."""
    rid = _run_id(run_id)
    flush()
    with _state.lock:
        _state.runs = [r for r in _state.runs if r.id != rid]
        if _state.heartbeat is not None:
            _state.heartbeat.discard(rid)
    return _tracking().end_run(rid, RunStatus(status))


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    timestamp: int | None = None,
    *,
    run_id: str | None = None,
) -> None:
    """Buffer one metric point; returns at once (no I/O)."""
    rid = run_id or (_state.runs[-1].id if _state.runs else _run_id(None))
    if key not in _state.valid_keys:
        v.key("metric", key)
        _state.valid_keys.add(key)
    if type(value) is not float:
        value = v.metric_value(key, value)
    if step is None:
        step = 0
    elif type(step) is not int or not -_INT64 <= step < _INT64:
        step = v.step(key, step)
    ts = now_ms() if timestamp is None else v.timestamp(key, timestamp)
    _buffer().add(rid, key, value, step, ts)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    timestamp: int | None = None,
    *,
    run_id: str | None = None,
) -> None:
    """Buffer several metrics at the same step and time."""
    ts = now_ms() if timestamp is None else timestamp
    for key, value in metrics.items():
        log_metric(key, value, step, ts, run_id=run_id)


def flush(timeout: float | None = None) -> None:
    """Wait until every buffered metric point is stored; raise if any were lost."""
    buffer = _state.buffer
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


def log_param(key: str, value: Any, *, run_id: str | None = None) -> None:
    """Log one immutable param."""
    _tracking().log_params(_run_id(run_id), {key: value})


def log_params(params: Mapping[str, Any], *, run_id: str | None = None) -> None:
    """Log immutable params (values are stored as text)."""
    _tracking().log_params(_run_id(run_id), params)


def set_tag(key: str, value: Any, *, run_id: str | None = None) -> None:
    """Set one tag."""
    _tracking().set_tags(_run_id(run_id), {key: value})


def set_tags(tags: Mapping[str, Any], *, run_id: str | None = None) -> None:
    """Set tags (values are stored as text)."""
    _tracking().set_tags(_run_id(run_id), tags)


def log_artifact(
    local_path: str | Path, artifact_path: str | None = None, *, run_id: str | None = None
) -> list[ArtifactEntry]:
    """Upload a file or folder to the run's artifacts (streamed, deduplicated)."""
    return _tracking().log_artifact(_run_id(run_id), local_path, artifact_path)


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
    from windlass.tracking.inputs import describe_input

    rid = _run_id(run_id)
    described = describe_input(data, name, context=context, source=source)
    _tracking().log_inputs(rid, [described])
    return described


def list_inputs(run_id: str) -> list[DatasetInput]:
    """Return the datasets a run read, in logging order."""
    return _tracking().list_inputs(run_id)


def list_artifacts(run_id: str, path: str = "") -> list[ArtifactListing]:
    """List one folder level of a run's artifacts."""
    return _tracking().list_artifacts(run_id, path)


def download_artifacts(run_id: str, path: str = "", dst: str | Path = ".") -> Path:
    """Download a file or folder of a run's artifacts under ``dst``; return its local path."""
    return _tracking().download_artifacts(run_id, path, dst)


def get_run(run_id: str) -> Run:
    """Return a run: params, tags, latest metrics, status, source."""
    flush()
    return _tracking().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[MetricPoint]:
    """Return every point of a metric, in step order."""
    flush()
    return list(_tracking().get_metric_history(run_id, key))


def delete_run(run_id: str) -> Run:
    """Soft-delete a run."""
    return _tracking().delete_run(run_id)


def restore_run(run_id: str) -> Run:
    """Restore a deleted run."""
    return _tracking().restore_run(run_id)


def search_runs(
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
    flush()
    projects = [project] if isinstance(project, str) else project
    if projects is None:
        projects = [current_project()]
    service = _tracking()
    runs: list[Run] = []
    token: str | None = None
    while len(runs) < max_results:
        page = service.search_runs(
            projects, filter, order_by, min(max_results - len(runs), 5000), token, ViewType(view)
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


def _shutdown(end_runs: bool = True) -> None:
    with _state.lock:
        if _state.buffer is not None:
            _state.buffer.close()
            _state.buffer = None
        if end_runs and _state.tracking is not None:
            status = RunStatus.FAILED if _state.crashed else RunStatus.FINISHED
            for run in reversed(_state.runs):
                try:
                    _state.tracking.end_run(run.id, status)
                except Exception as exc:
                    print(f"windlass: could not end run {run.id}: {exc}", file=sys.stderr)
            _state.runs.clear()
        if _state.heartbeat is not None:
            _state.heartbeat.stop()
            _state.heartbeat = None
        if _state.tracking is not None:
            _state.tracking.close()
            _state.tracking = None
        _state.swept = False


_hooks_installed = False


def _install_process_hooks() -> None:
    """Install, once per process, what an active run needs from the interpreter.

    An uncaught exception marks the runs failed (the previous ``sys.excepthook`` still
    runs) and interpreter exit ends them and flushes buffered metrics. Importing windlass
    installs neither: the first run does, so a program that never starts one keeps its
    own hooks untouched.
    """
    global _hooks_installed
    if _hooks_installed:
        return
    previous = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        _state.crashed = True
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook
    atexit.register(_shutdown)
    _hooks_installed = True
