"""A metric series for a chart: the points of a step range, downsampled to a point budget.

A chart a few thousand pixels wide shows no more than a few thousand points; a series of
millions is read in pages and reduced here, keeping its shape: the points are cut into
``(max_points - 2) // 2`` buckets of consecutive points and each bucket keeps its lowest and its
highest value (in step order), so spikes and dips survive, and the first and last point of
the range are always kept. A chart zooming in asks again for the visible step range and
gets it at full resolution once it holds no more than ``max_points`` points.

At most :data:`MAX_SERIES_READ` points of a range are read; past that the answer says it
was ``truncated`` (narrow the step range to see the rest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from windlass.entities import MetricPoint
from windlass.exceptions import InvalidInput
from windlass.tracking.service import Tracking

#: The most points one series answer may hold (``max_points`` is at most this).
MAX_SERIES_POINTS = 100_000
#: The most points of a step range read to answer one series request.
MAX_SERIES_READ = 2_000_000
_PAGE = 100_000


@dataclass
class MetricSeries:
    """The points of one metric in a step range, downsampled when there were too many."""

    key: str
    steps: list[int] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    #: Points of the range before downsampling (at most MAX_SERIES_READ).
    total_points: int = 0
    downsampled: bool = False
    truncated: bool = False


def downsample(points: list[MetricPoint], max_points: int) -> list[MetricPoint]:
    """Return at most ``max_points`` of ``points`` (step order): min and max per bucket."""
    if max_points < 2:
        raise InvalidInput("max_points must be at least 2", max_points=max_points)
    if len(points) <= max_points:
        return points
    buckets = (max_points - 2) // 2
    if buckets == 0:  # room for the ends only
        return [points[0], points[-1]]
    inner = points[1:-1]
    size = len(inner) / buckets
    kept: list[MetricPoint] = [points[0]]
    for b in range(buckets):
        chunk = inner[int(b * size) : int((b + 1) * size)]
        finite = [p for p in chunk if not math.isnan(p.value)]
        if not finite:
            if chunk:
                kept.append(chunk[0])
            continue
        low = min(finite, key=lambda p: p.value)
        high = max(finite, key=lambda p: p.value)
        first, second = (low, high) if low.step <= high.step else (high, low)
        kept.append(first)
        if second is not first:
            kept.append(second)
    kept.append(points[-1])
    return kept


def metric_series(
    service: Tracking,
    run_id: str,
    key: str,
    *,
    max_points: int = 2000,
    min_step: int | None = None,
    max_step: int | None = None,
) -> MetricSeries:
    """Return metric ``key`` of a run in ``[min_step, max_step]``, at most ``max_points``.

    Reads through ``service`` (its permission check: read in the run's project).
    """
    if not 2 <= max_points <= MAX_SERIES_POINTS:
        raise InvalidInput(
            f"max_points must be between 2 and {MAX_SERIES_POINTS}", max_points=max_points
        )
    if min_step is not None and max_step is not None and min_step > max_step:
        raise InvalidInput("min_step is after max_step", min_step=min_step, max_step=max_step)
    points: list[MetricPoint] = []
    truncated = False
    token: str | None = None
    while True:
        page = service.metric_history_page(run_id, key, _PAGE, token)
        for point in page.items:
            if min_step is not None and point.step < min_step:
                continue
            if max_step is not None and point.step > max_step:
                token = None
                break
            if len(points) == MAX_SERIES_READ:
                truncated = True
                break
            points.append(point)
        else:
            token = page.next_page_token
            if token is not None:
                continue
        break
    kept = downsample(points, max_points)
    return MetricSeries(
        key,
        [p.step for p in kept],
        [p.timestamp for p in kept],
        [p.value for p in kept],
        total_points=len(points),
        downsampled=len(kept) < len(points),
        truncated=truncated,
    )
