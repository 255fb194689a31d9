"""``/api/v1/runs`` and ``/api/v1/metrics``: runs, params, tags, metrics, dataset inputs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import Field

from windlass.access.policy import Permission
from windlass.entities import (
    DatasetInput,
    MetricBatch,
    RunSource,
    RunStatus,
    ViewType,
    decode_float,
    encode_float,
)
from windlass.server.api.common import (
    WHOLE,
    Empty,
    Float,
    Id,
    Int64,
    Key,
    Millis,
    NonNegative64,
    PageToken,
    RequestBody,
    ResponseBody,
    errors,
    requires,
)
from windlass.server.deps import tracking
from windlass.store.bulk import paused_gc
from windlass.store.filters import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_JOINS,
    MAX_ORDER_BY_KEYS,
)
from windlass.store.runs import MAX_HISTORY_RESULTS
from windlass.tracking.service import Tracking


# -- request bodies ------------------------------------------------------------------------
class SourceBody(RequestBody):
    """Where a run's code ran (who ran it is the request's principal, never a body field)."""

    git_commit: str | None = Field(default=None, max_length=64)
    git_dirty: bool | None = None
    command: str = Field(default="", max_length=100_000)
    system: dict[str, Any] = Field(default_factory=dict)
    host: str = Field(default="", max_length=256)
    pid: Annotated[int, Field(ge=0, le=2**31 - 1), WHOLE] | None = None


class RunCreate(RequestBody):
    """Create a run (idempotent per ``run_id``)."""

    run_id: Id | None = None
    project_id: Id
    name: str | None = Field(default=None, max_length=256)
    start_time: Millis | None = None
    parent_run_id: Id | None = None
    source: SourceBody = Field(default_factory=SourceBody)
    tags: dict[Key, str] = Field(default_factory=dict)


class RunUpdate(RequestBody):
    """Change a run's status, end time or name."""

    status: Literal["running", "finished", "failed", "killed"] | None = None
    end_time: Millis | None = None
    name: str | None = Field(default=None, max_length=256)


class Heartbeat(RequestBody):
    """A run's process is alive at ``at`` (server time when absent)."""

    at: Millis | None = None


class FailStale(RequestBody):
    """Fail running runs whose last heartbeat is older than ``heartbeat_before``."""

    heartbeat_before: Millis


class Params(RequestBody):
    """Params to log."""

    params: dict[Key, str]


class Tags(RequestBody):
    """Tags to set."""

    tags: dict[Key, str]


class MetricBatchBody(RequestBody):
    """Metric points in columns (same length each); ``id`` makes retries idempotent."""

    id: Id
    run_ids: list[Id]
    keys: list[Key]
    values: list[Float]
    steps: list[Int64]
    timestamps: list[Millis]


class SearchRuns(RequestBody):
    """Search runs with the filter language."""

    projects: list[str] | None = Field(default=None, description="Project names or ids.")
    # Bounded by the store (windlass.store.filters), which names the limit it went over:
    # 400 LIMIT_EXCEEDED, as in embedded mode.
    filter: str | None = Field(
        default=None,
        description=(
            f"Filter language text, at most {MAX_FILTER_LENGTH} characters, {MAX_CONDITIONS} "
            f"conditions ({MAX_JOINS} on metrics, params or tags), nested {MAX_DEPTH} deep."
        ),
    )
    order_by: list[str] | None = Field(
        default=None, description=(f"At most {MAX_ORDER_BY_KEYS} clauses `<field> [ASC|DESC]`.")
    )
    max_results: Annotated[int, Field(ge=1, le=50_000), WHOLE] = 1000
    page_token: str | None = Field(
        default=None, description="The next_page_token of the previous page (opaque)."
    )
    view: Literal["active", "deleted", "all"] = "active"


class DatasetInputBody(RequestBody):
    """One dataset a run read."""

    name: str = Field(pattern="^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}$")
    digest: str = Field(pattern="^[\\x21-\\x7e]{1,128}$")
    context: str = Field(default="training", pattern="^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}$")
    source: str = Field(default="", max_length=10_000)
    rows: NonNegative64 | None = None
    schema_: dict[
        Annotated[str, Field(min_length=1, max_length=1024)], Annotated[str, Field(max_length=256)]
    ] = Field(
        default_factory=dict,
        alias="schema",
        description="Column name to dtype (at most 10,000 columns)",
    )


class DatasetInputs(RequestBody):
    """Datasets a run read (the same name, digest and context again is a no-op)."""

    inputs: list[DatasetInputBody] = Field(description="At most 1000 per request")


# -- response bodies -----------------------------------------------------------------------
class RunSourceOut(ResponseBody):
    """Where a run's code ran: user, git commit and dirty flag, command, system, host, pid."""

    user: str
    git_commit: str | None
    git_dirty: bool | None
    command: str
    system: dict[str, Any]
    host: str
    pid: int | None


class RunOut(ResponseBody):
    """A run: identity, status, times, source, params, tags and latest metrics."""

    id: str
    project_id: str
    name: str
    status: Literal["running", "finished", "failed", "killed"]
    start_time: int
    end_time: int | None
    parent_run_id: str | None
    deleted: bool
    heartbeat_at: int | None
    source: RunSourceOut
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, Annotated[list[int | Float], Field(min_length=3, max_length=3)]] = Field(
        description="Latest value per key as [value, step, timestamp]"
    )


class RunPage(ResponseBody):
    """One page of runs matching a search."""

    runs: list[RunOut]
    next_page_token: str | None = None


class FailedRuns(ResponseBody):
    """The runs just marked failed."""

    run_ids: list[str]


class MetricsStored(ResponseBody):
    """How many metric points of the batch were stored (0 for a retried batch)."""

    stored: int


class MetricHistory(ResponseBody):
    """One page of a metric's points in step order, in columns of equal length."""

    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[Float]
    next_page_token: str | None = None


class DatasetInputOut(ResponseBody):
    """A dataset a run read: name, digest, how it was used, where it came from, its shape."""

    name: str
    digest: str
    context: str
    source: str
    rows: int | None
    schema_: dict[str, str] = Field(alias="schema", description="Column name to dtype")


class RunInputs(ResponseBody):
    """The datasets a run read, in the order they were first logged."""

    inputs: list[DatasetInputOut]


# -- routes --------------------------------------------------------------------------------
router = APIRouter(prefix="/api/v1", tags=["runs"])
TrackingDep = Annotated[Tracking, Depends(tracking)]
#: What a change of a run with a body can answer besides 200.
WRITE_ERRORS = errors(400, 404, 409, 413, 422)


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.post("/runs", response_model=RunOut, responses=WRITE_ERRORS, **requires(Permission.WRITE))
def create_run(body: RunCreate, service: TrackingDep) -> dict[str, Any]:
    """Create a running run as the request's principal (the same ``run_id`` again returns it)."""
    source = RunSource(**body.source.model_dump())
    return service.create_run(
        body.project_id,
        name=body.name,
        parent_run_id=body.parent_run_id,
        source=source,
        tags=body.tags,
        run_id=body.run_id,
        start_time=body.start_time,
    ).to_dict()


@router.post(
    "/runs/search",
    response_model=RunPage,
    responses=errors(400, 404, 413, 422),
    **requires(Permission.READ),
)
def search_runs(body: SearchRuns, service: TrackingDep) -> Response:
    """Search runs with the filter language; keyset-paged."""
    page = service.search_runs(
        body.projects,
        body.filter,
        body.order_by,
        body.max_results,
        body.page_token,
        ViewType(body.view),
    )
    with paused_gc():
        return _json(
            {"runs": [r.to_dict() for r in page.items], "next_page_token": page.next_page_token}
        )


@router.post(
    "/runs/fail-stale",
    response_model=FailedRuns,
    responses=errors(400, 413, 422),
    **requires(Permission.SERVER_ADMIN),
)
def fail_stale_runs(body: FailStale, service: TrackingDep) -> dict[str, Any]:
    """Mark running runs without a heartbeat since ``heartbeat_before`` failed."""
    return {"run_ids": service.fail_runs_silent_since(body.heartbeat_before)}


@router.get(
    "/runs/{run_id}", response_model=RunOut, responses=errors(400, 404), **requires(Permission.READ)
)
def get_run(run_id: str, service: TrackingDep) -> dict[str, Any]:
    """Return a run with params, tags and latest metrics."""
    return service.get_run(run_id).to_dict()


@router.patch(
    "/runs/{run_id}", response_model=RunOut, responses=WRITE_ERRORS, **requires(Permission.WRITE)
)
def update_run(run_id: str, body: RunUpdate, service: TrackingDep) -> dict[str, Any]:
    """Change a run's status, end time or name."""
    status = None if body.status is None else RunStatus(body.status)
    return service.update_run(
        run_id, status=status, end_time=body.end_time, name=body.name
    ).to_dict()


@router.delete(
    "/runs/{run_id}",
    response_model=RunOut,
    responses=errors(400, 404, 409),
    **requires(Permission.ADMIN),
)
def delete_run(run_id: str, service: TrackingDep) -> dict[str, Any]:
    """Soft-delete a run."""
    return service.delete_run(run_id).to_dict()


@router.post(
    "/runs/{run_id}/restore",
    response_model=RunOut,
    responses=errors(400, 404, 409),
    **requires(Permission.ADMIN),
)
def restore_run(run_id: str, service: TrackingDep) -> dict[str, Any]:
    """Restore a deleted run."""
    return service.restore_run(run_id).to_dict()


@router.post(
    "/runs/{run_id}/heartbeat",
    response_model=Empty,
    responses=WRITE_ERRORS,
    **requires(Permission.WRITE),
)
def heartbeat(run_id: str, body: Heartbeat, service: TrackingDep) -> dict[str, Any]:
    """Record that the run's process is alive."""
    service.heartbeat(run_id, body.at)
    return {}


@router.post(
    "/runs/{run_id}/params",
    response_model=Empty,
    responses=WRITE_ERRORS,
    **requires(Permission.WRITE),
)
def log_params(run_id: str, body: Params, service: TrackingDep) -> dict[str, Any]:
    """Log immutable params, recorded as logged by the request's principal."""
    service.log_params(run_id, body.params)
    return {}


@router.post(
    "/runs/{run_id}/tags",
    response_model=Empty,
    responses=WRITE_ERRORS,
    **requires(Permission.WRITE),
)
def set_tags(run_id: str, body: Tags, service: TrackingDep) -> dict[str, Any]:
    """Set tags."""
    service.set_tags(run_id, body.tags)
    return {}


@router.delete(
    "/runs/{run_id}/tags",
    response_model=Empty,
    responses=errors(400, 404, 409),
    **requires(Permission.WRITE),
)
def delete_tag(run_id: str, key: str, service: TrackingDep) -> dict[str, Any]:
    """Remove a tag."""
    service.delete_tag(run_id, key)
    return {}


@router.post(
    "/metrics", response_model=MetricsStored, responses=WRITE_ERRORS, **requires(Permission.WRITE)
)
def log_metrics(body: MetricBatchBody, service: TrackingDep) -> dict[str, Any]:
    """Store a batch of metric points (columns of equal length)."""
    batch = MetricBatch(
        body.id,
        body.run_ids,
        body.keys,
        [decode_float(v) for v in body.values],
        body.steps,
        body.timestamps,
    )
    return {"stored": service.log_metrics(batch)}


@router.get(
    "/runs/{run_id}/metric-history",
    response_model=MetricHistory,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def metric_history(
    run_id: str,
    key: str,
    service: TrackingDep,
    max_results: Annotated[int, Query(ge=1, le=MAX_HISTORY_RESULTS)] = 100_000,
    page_token: PageToken = None,
) -> Response:
    """Return one page of a metric's points in step order, in columns."""
    page = service.metric_history_page(run_id, key, max_results, page_token)
    return _json(
        {
            "key": key,
            "steps": [p.step for p in page.items],
            "timestamps": [p.timestamp for p in page.items],
            "values": [encode_float(p.value) for p in page.items],
            "next_page_token": page.next_page_token,
        }
    )


@router.post(
    "/runs/{run_id}/inputs",
    response_model=Empty,
    responses=WRITE_ERRORS,
    **requires(Permission.WRITE),
)
def log_inputs(run_id: str, body: DatasetInputs, service: TrackingDep) -> dict[str, Any]:
    """Record datasets the run read (the same name, digest and context again: no-op)."""
    service.log_inputs(
        run_id,
        [
            DatasetInput(d.name, d.digest, d.context, d.source, d.rows, d.schema_)
            for d in body.inputs
        ],
    )
    return {}


@router.get(
    "/runs/{run_id}/inputs",
    response_model=RunInputs,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def list_inputs(run_id: str, service: TrackingDep) -> dict[str, Any]:
    """Return the datasets the run read, in the order they were first logged."""
    return {"inputs": [d.to_dict() for d in service.list_inputs(run_id)]}
