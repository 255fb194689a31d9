"""Rendering for the CLI: Rich tables for people, ``--json`` for scripts."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from windlass.entities import Run

console = Console()
err_console = Console(stderr=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """Print data as JSON (NaN and infinities as strings)."""
    print(json.dumps(_jsonable(data), indent=2, sort_keys=False))


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a Rich table (values are shown as text, never interpreted as markup)."""
    out = Table(title=title, show_lines=False)
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*("" if v is None else _fmt(v) for v in row))
    console.print(out)


def _fmt(value: Any) -> Any:
    from rich.text import Text

    if isinstance(value, float):
        return Text(f"{value:.6g}")
    return Text(str(value))


def run_row(run: Run, metric_keys: Sequence[str], param_keys: Sequence[str]) -> list[Any]:
    """Return one table row for a run: short id, name, status, metrics, params."""
    return [run.id[-8:], run.name, run.status.value,
            *(run.metrics[k].value if k in run.metrics else None for k in metric_keys),
            *(run.params.get(k) for k in param_keys)]


def runs_table(runs: Sequence[Run], title: str | None = None, max_metrics: int = 4,
               max_params: int = 3) -> None:
    """Print runs with their most common metrics and params as columns.

    Runs are shown by the last 8 characters of their id (the first ones encode the time and
    repeat between runs); ``--json`` gives full ids.
    """
    def common(keys: list[str], limit: int) -> list[str]:
        counts: dict[str, int] = {}
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        return sorted(sorted(counts, key=lambda k: -counts[k])[:limit])

    metric_keys = common([k for r in runs for k in r.metrics], max_metrics)
    param_keys = common([k for r in runs for k in r.params], max_params)
    table(title, ["run", "name", "status", *metric_keys, *(f"params.{k}" for k in param_keys)],
          [run_row(r, metric_keys, param_keys) for r in runs])
