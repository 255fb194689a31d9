"""``/api/v1/runs``: create, read, update, delete/restore, params, tags, metrics, inputs."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from windlass.entities import (
    DatasetInput,
    MetricBatch,
    RunSource,
    RunStatus,
    ViewType,
    decode_float,
    encode_float,
)
from windlass.server.deps import tracking
from windlass.server.errors import ERROR_RESPONSES
from windlass.server.schemas import (
    DatasetInputs,
    FailStale,
    Heartbeat,
    MetricBatchBody,
    PageToken,
    Params,
    RunCreate,
    RunUpdate,
    SearchRuns,
    Tags,
)
from windlass.store.bulk import paused_gc
from windlass.store.runs import MAX_HISTORY_RESULTS
from windlass.tracking.service import Tracking

router = APIRouter(prefix="/api/v1", tags=["runs"], responses=ERROR_RESPONSES)
TrackingDep = Annotated[Tracking, Depends(tracking)]


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.post("/runs")
def create_run(body: RunCreate, service: TrackingDep) -> dict[str, Any]:
    """Create a running run (the same ``run_id`` again returns the existing run)."""
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


@router.post("/runs/search")
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


@router.post("/runs/fail-stale")
def fail_stale_runs(body: FailStale, service: TrackingDep) -> dict[str, Any]:
    """Mark running runs without a heartbeat since ``heartbeat_before`` failed."""
    return {"run_ids": service.fail_runs_silent_since(body.heartbeat_before)}


@router.get("/runs/{run_id}")
def get_run(run_id: str, service: TrackingDep) -> dict[str, Any]:
    """Return a run with params, tags and latest metrics."""
    return service.get_run(run_id).to_dict()


@router.patch("/runs/{run_id}")
def update_run(run_id: str, body: RunUpdate, service: TrackingDep) -> dict[str, Any]:
    """Change a run's status, end time or name."""
    status = None if body.status is None else RunStatus(body.status)
    return service.update_run(
        run_id, status=status, end_time=body.end_time, name=body.name
    ).to_dict()


@router.delete("/runs/{run_id}")
def delete_run(run_id: str, service: TrackingDep) -> dict[str, Any]:
    """Soft-delete a run."""
    return service.delete_run(run_id).to_dict()


@router.post("/runs/{run_id}/restore")
def restore_run(run_id: str, service: TrackingDep) -> dict[str, Any]:
    """Restore a deleted run."""
    return service.restore_run(run_id).to_dict()


@router.post("/runs/{run_id}/heartbeat")
def heartbeat(run_id: str, body: Heartbeat, service: TrackingDep) -> dict[str, Any]:
    """Record that the run's process is alive."""
    service.heartbeat(run_id, body.at)
    return {}


@router.post("/runs/{run_id}/params")
def log_params(run_id: str, body: Params, service: TrackingDep) -> dict[str, Any]:
    """Log immutable params."""
    service.log_params(run_id, body.params)
    return {}


@router.post("/runs/{run_id}/tags")
def set_tags(run_id: str, body: Tags, service: TrackingDep) -> dict[str, Any]:
    """Set tags."""
    service.set_tags(run_id, body.tags)
    return {}


@router.delete("/runs/{run_id}/tags")
def delete_tag(run_id: str, key: str, service: TrackingDep) -> dict[str, Any]:
    """Remove a tag."""
    service.delete_tag(run_id, key)
    return {}


@router.post("/metrics")
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


@router.get("/runs/{run_id}/metric-history")
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


@router.post("/runs/{run_id}/inputs")
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


@router.get("/runs/{run_id}/inputs")
def list_inputs(run_id: str, service: TrackingDep) -> dict[str, Any]:
    """Return the datasets the run read, in the order they were first logged."""
    return {"inputs": [d.to_dict() for d in service.list_inputs(run_id)]}
