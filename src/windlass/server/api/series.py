"""``GET /api/v1/runs/{run_id}/metric-series``: a metric downsampled for a chart.

The charts of the UI read a series here: the overview of a long series as at most
``max_points`` points (the lowest and highest value of each bucket, see
:mod:`windlass.tracking.series`), and on zoom the visible ``min_step``..``max_step`` range
again, at full resolution once it is small enough.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from windlass.access.policy import Permission
from windlass.entities import encode_float
from windlass.server.api.common import Float, Int64, ResponseBody, errors, requires
from windlass.server.deps import tracking
from windlass.tracking.series import MAX_SERIES_POINTS, metric_series
from windlass.tracking.service import Tracking

router = APIRouter(prefix="/api/v1", tags=["runs"])


class MetricSeriesOut(ResponseBody):
    """A metric's points in a step range (columns of equal length), maybe downsampled."""

    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[Float]
    total_points: int
    downsampled: bool
    truncated: bool


@router.get(
    "/runs/{run_id}/metric-series",
    response_model=MetricSeriesOut,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def get_metric_series(
    run_id: str,
    key: Annotated[str, Query(max_length=250, description="The metric key")],
    service: Annotated[Tracking, Depends(tracking)],
    max_points: Annotated[
        int,
        Query(ge=2, le=MAX_SERIES_POINTS, description="Most points answered (min/max buckets)"),
    ] = 2000,
    min_step: Annotated[Int64 | None, Query(description="First step of the range")] = None,
    max_step: Annotated[Int64 | None, Query(description="Last step of the range")] = None,
) -> Response:
    """Return a metric's points from ``min_step`` to ``max_step``, at most ``max_points``.

    Past ``max_points`` the points are downsampled (each bucket keeps its lowest and
    highest value). At most 2,000,000 points of the range are read (``truncated``).
    """
    found = metric_series(
        service, run_id, key, max_points=max_points, min_step=min_step, max_step=max_step
    )
    body = {
        "key": found.key,
        "steps": found.steps,
        "timestamps": found.timestamps,
        "values": [encode_float(v) for v in found.values],
        "total_points": found.total_points,
        "downsampled": found.downsampled,
        "truncated": found.truncated,
    }
    return Response(orjson.dumps(body), media_type="application/json")
