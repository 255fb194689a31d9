"""``/compare?run=A&run=B``: 2 to 10 runs side by side.

A diff table of their params and latest metrics (rows that differ are marked), a
parallel-coordinates plot of params to metrics (``static/parcoords.js``, on a canvas), and
each metric they share as overlaid curves (``static/charts.js``).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from windlass.access.policy import Permission
from windlass.entities import Run
from windlass.exceptions import InvalidInput
from windlass.server.ui.render import render
from windlass.server.ui.runs import format_number
from windlass.server.ui.session import Viewer, serve_page

router = APIRouter(include_in_schema=False)
MIN_RUNS = 2
MAX_RUNS = 10
#: Overlaid charts drawn (metrics all the runs share, by name).
MAX_OVERLAYS = 30
#: Axes of the parallel-coordinates plot.
MAX_AXES = 16


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def diff_rows(runs: list[Run], scope: str) -> list[dict[str, Any]]:
    """Return a row per key of ``scope`` (params or metrics) of ``runs``, marking differences."""
    keys = sorted({k for r in runs for k in (r.params if scope == "params" else r.metrics)})
    rows = []
    for key in keys:
        if scope == "params":
            cells = [r.params.get(key) for r in runs]
        else:
            cells = [
                format_number(r.metrics[key].value) if key in r.metrics else None for r in runs
            ]
        rows.append({"key": key, "cells": cells, "differs": len(set(cells)) > 1})
    return rows


def axes(runs: list[Run]) -> list[dict[str, Any]]:
    """Return the parallel-coordinates axes: params that differ, then metrics (bounded)."""
    found: list[dict[str, Any]] = []
    for row in diff_rows(runs, "params"):
        if row["differs"]:
            values = row["cells"]
            numbers = [None if v is None else _number(v) for v in values]
            numeric = all(n is not None for n, v in zip(numbers, values, strict=True) if v)
            found.append(
                {
                    "name": row["key"],
                    "kind": "param",
                    "numeric": numeric,
                    "values": numbers if numeric else values,
                }
            )
    for key in sorted({k for r in runs for k in r.metrics}):
        values = [r.metrics[key].value if key in r.metrics else None for r in runs]
        clean = [v if v is not None and math.isfinite(v) else None for v in values]
        found.append({"name": key, "kind": "metric", "numeric": True, "values": clean})
    return found[:MAX_AXES]


@router.get("/compare")
async def compare_page(
    request: Request,
    run: Annotated[list[str] | None, Query(max_length=64)] = None,
) -> Response:
    """Return the comparison of the chosen runs (2 to 10)."""
    chosen = list(dict.fromkeys(run or []))

    def build(viewer: Viewer) -> Response:
        if not MIN_RUNS <= len(chosen) <= MAX_RUNS:
            raise InvalidInput(
                f"choose {MIN_RUNS} to {MAX_RUNS} runs to compare, not {len(chosen)}",
                runs=len(chosen),
            )
        tracking = viewer.tracking
        runs = [tracking.get_run(run_id) for run_id in chosen]
        project = tracking.get_project(runs[0].project_id)
        labels = [r.name or r.id[:8] for r in runs]
        shared = sorted(set.intersection(*(set(r.metrics) for r in runs)))
        return render(
            viewer,
            "compare.html",
            {
                "project": project,
                "area": "runs",
                "runs": runs,
                "labels_json": json.dumps(labels),
                "params": diff_rows(runs, "params"),
                "metrics": diff_rows(runs, "metrics"),
                "overlays": shared[:MAX_OVERLAYS],
                "axes_json": json.dumps({"runs": labels, "axes": axes(runs)}),
            },
        )

    return await serve_page(request, Permission.READ, build)
