"""Turn the raw measurements into the printed table, the target checks and the JSON file."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One row: a figure measured for both tools, and how many times better windlass is.

    ``higher_is_better`` says which way the ratio goes; ``ratio`` > 1 favours windlass.
    ``mlflow_bound`` marks an MLflow figure cut off by its time bound (shown as ">").
    """

    name: str
    unit: str
    windlass: float | None
    mlflow: float | None
    higher_is_better: bool
    mlflow_bound: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Return how many times better windlass did (None when either side is missing)."""
        if self.windlass is None or self.mlflow is None or not self.windlass or not self.mlflow:
            return None
        return self.windlass / self.mlflow if self.higher_is_better else self.mlflow / self.windlass


@dataclass(frozen=True)
class Target:
    """A target of the issue for windlass: the figure, the bound and whether it was met."""

    name: str
    bound: str
    value: float | None
    unit: str
    met: bool


def fmt(value: float | None, unit: str = "") -> str:
    """Return a figure with a precision that suits its size."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def ratio_text(figure: Figure) -> str:
    """Return the ratio column: ``12.3x`` (``>12.3x`` when MLflow hit its bound)."""
    ratio = figure.ratio
    if ratio is None:
        return "n/a"
    prefix = ">" if figure.mlflow_bound else ""
    if ratio >= 100:
        return f"{prefix}{ratio:,.0f}x"
    return f"{prefix}{ratio:.1f}x" if ratio >= 10 else f"{prefix}{ratio:.2f}x"


def table(figures: list[Figure]) -> str:
    """Return the figures as a Markdown table (the README shows the same table)."""
    lines = [
        "| figure | windlass | MLflow | ratio (x in windlass's favour) |",
        "|---|---:|---:|---:|",
    ]
    for f in figures:
        mlflow = fmt(f.mlflow, f.unit)
        if f.mlflow_bound:
            mlflow = ">" + mlflow
        name = f"{f.name} ({f.note})" if f.note else f.name
        lines.append(f"| {name} | {fmt(f.windlass, f.unit)} | {mlflow} | {ratio_text(f)} |")
    return "\n".join(lines)


def targets_table(targets: list[Target]) -> str:
    """Return the issue's targets for windlass with MET / MISSED."""
    lines = ["| target (windlass) | bound | measured | |", "|---|---|---:|---|"]
    for t in targets:
        lines.append(
            f"| {t.name} | {t.bound} | {fmt(t.value, t.unit)} | {'MET' if t.met else 'MISSED'} |"
        )
    return "\n".join(lines)


def write_json(
    path: Path,
    meta: dict[str, Any],
    raw: dict[str, Any],
    figures: list[Figure],
    targets: list[Target],
) -> None:
    """Write everything measured to ``path`` as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        **meta,
        "figures": [{**asdict(f), "ratio": f.ratio} for f in figures],
        "targets": [asdict(t) for t in targets],
        "raw": raw,
    }
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")
