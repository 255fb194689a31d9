"""The data both tools are given: the same runs, params and metric values, made from a seed.

Imported by the windlass driver and by the MLflow helpers (which run in another virtualenv),
so it uses the standard library only.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

PARAMS_PER_RUN = 5
METRICS_PER_RUN = 5
SEARCH_FILTER = "metrics.m0 < 0.5"
PAGE_ORDER_BY = "metrics.m0 ASC"
MAX_BATCH = 1000  # MLflow's log_batch limit (metrics per request)


@dataclass(frozen=True)
class RunSpec:
    """One run to create: a name, 5 params (text) and 5 metrics (floats in [0, 1))."""

    index: int
    name: str
    params: dict[str, str]
    metrics: dict[str, float]


def run_spec(index: int) -> RunSpec:
    """Return run number ``index`` (the same on every call, in every process)."""
    rng = random.Random(index)  # seeded per run: populating in any order gives the same data
    params = {f"p{k}": f"value-{rng.randrange(10)}" for k in range(PARAMS_PER_RUN)}
    metrics = {f"m{k}": rng.random() for k in range(METRICS_PER_RUN)}
    return RunSpec(index, f"run-{index:05d}", params, metrics)


def expected_matches(count: int) -> int:
    """Return how many of runs ``0..count-1`` match :data:`SEARCH_FILTER`."""
    return sum(1 for i in range(count) if run_spec(i).metrics["m0"] < 0.5)


def metric_value(step: int) -> float:
    """Return the value logged at ``step`` of the metric-logging figure."""
    return 1.0 / (1 + step)


UI_PARAMS_PER_RUN = 20
UI_METRICS_PER_RUN = 10
UI_SEED = 14


def ui_runs(count: int) -> Iterator[tuple[str, dict[str, str], dict[str, float]]]:
    """Yield the UI benchmark's runs in order: name, 20 params and 10 metrics (step 0) each.

    One generator seeded once, so runs must be taken in order; both tools get the same values.
    """
    rng = random.Random(UI_SEED)
    for index in range(count):
        params = {f"p{k}": f"v{rng.randrange(10)}" for k in range(UI_PARAMS_PER_RUN)}
        metrics = {f"m{k}": rng.random() for k in range(UI_METRICS_PER_RUN)}
        yield f"run-{index:05d}", params, metrics
