"""Runs as a pandas DataFrame (one row per run; params, metrics and tags as columns).

pandas comes with ``windlass[ml]``: without it, :func:`runs_to_frame` hands the runs back
as a list, so ``search_runs`` works on a core install too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from windlass.entities import Run
from windlass.extras import installed, require

if TYPE_CHECKING:
    import pandas as pd


def runs_to_frame(runs: list[Run]) -> pd.DataFrame | list[Run]:
    """Return ``runs`` as a DataFrame when pandas is installed, else the list unchanged.

    This is the one place that decides what ``search_runs`` returns by default.
    """
    return runs_dataframe(runs) if installed("pandas") else runs


def runs_dataframe(runs: list[Run]) -> pd.DataFrame:
    """Return ``runs`` as a DataFrame, one row per run (needs pandas: ``windlass[ml]``).

    Columns: run_id, name, status, times, user, parent, then ``metrics.*``, ``params.*``
    and ``tags.*``.
    """
    pandas = require("pandas", extra="ml", feature="a DataFrame of runs")
    rows: list[dict[str, Any]] = []
    for run in runs:
        row: dict[str, Any] = {
            "run_id": run.id,
            "name": run.name,
            "status": run.status.value,
            "start_time": pandas.Timestamp(run.start_time, unit="ms", tz="UTC"),
            "end_time": None
            if run.end_time is None
            else pandas.Timestamp(run.end_time, unit="ms", tz="UTC"),
            "user": run.user,
            "parent_run_id": run.parent_run_id,
        }
        row.update({f"metrics.{k}": m.value for k, m in run.metrics.items()})
        row.update({f"params.{k}": val for k, val in run.params.items()})
        row.update({f"tags.{k}": val for k, val in run.tags.items()})
        rows.append(row)
    columns = ["run_id", "name", "status", "start_time", "end_time", "user", "parent_run_id"]
    frame: pd.DataFrame = pandas.DataFrame(
        rows, columns=columns + sorted({c for r in rows for c in r} - set(columns))
    )
    return frame
