"""Runs as a pandas DataFrame (one row per run; params, metrics and tags as columns)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from windlass.entities import Run

if TYPE_CHECKING:
    import pandas as pd


def runs_to_frame(runs: list[Run]) -> pd.DataFrame:
    """Return ``runs`` as a DataFrame, one row per run.

    Columns: run_id, name, status, times, user, parent, then ``metrics.*``, ``params.*``
    and ``tags.*``.
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for run in runs:
        row: dict[str, Any] = {
            "run_id": run.id,
            "name": run.name,
            "status": run.status.value,
            "start_time": pd.Timestamp(run.start_time, unit="ms", tz="UTC"),
            "end_time": None
            if run.end_time is None
            else pd.Timestamp(run.end_time, unit="ms", tz="UTC"),
            "user": run.user,
            "parent_run_id": run.parent_run_id,
        }
        row.update({f"metrics.{k}": m.value for k, m in run.metrics.items()})
        row.update({f"params.{k}": val for k, val in run.params.items()})
        row.update({f"tags.{k}": val for k, val in run.tags.items()})
        rows.append(row)
    columns = ["run_id", "name", "status", "start_time", "end_time", "user", "parent_run_id"]
    return pd.DataFrame(rows, columns=columns + sorted({c for r in rows for c in r} - set(columns)))
