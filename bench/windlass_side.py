"""windlass's side of the tracking benchmark, measured in this process through the SDK.

Each function mirrors a subcommand of ``peers/mlflow_tracking.py`` and returns the same
keys, so the driver can put the two side by side. Every loop is bounded in count and time.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import windlass
import workload
from windlass.tracking.backend import open_tracking


def log_metrics(url: str, points: int, max_seconds: float) -> dict[str, Any]:
    """Time ``log_metric`` in a loop then ``flush()``: all points durably stored."""
    windlass.set_tracking_uri(url)
    windlass.set_project("bench-metrics")
    with windlass.start_run(name="log-metric") as run:
        sent = 0
        started = time.perf_counter()
        deadline = started + max_seconds
        while sent < points and (sent % 1000 or time.perf_counter() < deadline):
            windlass.log_metric("loss", workload.metric_value(sent), step=sent)
            sent += 1
        loop_s = time.perf_counter() - started
        windlass.flush()
        seconds = time.perf_counter() - started
    stored = len(windlass.get_metric_history(run.id, "loss"))
    return {
        "points": sent,
        "seconds": seconds,
        "points_per_s": sent / seconds,
        "loop_seconds": loop_s,
        "stored": stored,
    }


def _log_run(spec: workload.RunSpec) -> None:
    with windlass.start_run(name=spec.name):
        windlass.log_params(spec.params)
        windlass.log_metrics(spec.metrics, step=0)


def populate_sdk(url: str, project: str, start: int, count: int, sequential: int) -> dict[str, Any]:
    """Create runs through the server with the SDK: start_run, params, metrics, end."""
    windlass.set_tracking_uri(url)
    windlass.set_project(project)
    sequential = min(sequential, count)
    started = time.perf_counter()
    sequential_s = 0.0
    for n, index in enumerate(range(start, start + count)):
        _log_run(workload.run_spec(index))
        if n + 1 == sequential:
            sequential_s = time.perf_counter() - started
    return {
        "runs": count,
        "seconds": time.perf_counter() - started,
        "sequential_runs": sequential,
        "sequential_seconds": sequential_s,
        "sequential_runs_per_s": sequential / sequential_s if sequential_s else None,
    }


def bootstrap_token(store_uri: str) -> str:
    """Create the first admin of the store at ``store_uri``; return an API token of it."""
    from windlass.access.identity import Identity
    from windlass.access.policy import Policy
    from windlass.principal import AuthMethod, Principal
    from windlass.store.sql.store import SqlStore

    store = SqlStore(store_uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        root = identity.create_user(Principal("bench"), "root", bootstrap=True)
        who = Principal("root", auth=AuthMethod.TOKEN, user_id=root.id, admin=True)
        return identity.create_token(who, name="bench")[1]
    finally:
        store.close()


def populate_embedded(store_uri: str, project: str, start: int, count: int) -> dict[str, Any]:
    """Create runs with the SDK in embedded mode, straight into the server's SQLite file."""
    windlass.set_tracking_uri(store_uri)
    windlass.set_project(project)
    started = time.perf_counter()
    for index in range(start, start + count):
        _log_run(workload.run_spec(index))
    seconds = time.perf_counter() - started
    windlass.set_tracking_uri(None)
    return {"runs": count, "seconds": seconds}


def search(
    url: str, project: str, max_results: int, repeat: int, output_format: str = "list"
) -> dict[str, Any]:
    """Time ``windlass.search_runs`` with a metric filter returning every match."""
    windlass.set_tracking_uri(url)

    def once() -> int:
        found = windlass.search_runs(
            project=project,
            filter=workload.SEARCH_FILTER,
            max_results=max_results,
            output_format=output_format,
        )  # type: ignore[arg-type]
        return len(found)

    once()  # warm-up, not timed
    seconds, counts = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        counts.append(once())
        seconds.append(time.perf_counter() - started)
    return {"seconds": seconds, "median_s": statistics.median(seconds), "matches": counts}


def page(
    url: str, project: str, page_size: int, passes: int, budget_s: float, repeat_within_s: float
) -> dict[str, Any]:
    """Time paging through every run of a project in metric order (keyset page tokens)."""
    tracking = open_tracking(url)
    first = time.perf_counter()
    budget_end = first + budget_s
    results: list[dict[str, Any]] = []
    try:
        while len(results) < passes and time.perf_counter() < budget_end:
            if results and time.perf_counter() - first >= repeat_within_s:
                break  # as for MLflow: slow passes are not repeated
            started = time.perf_counter()
            runs, pages, token, last, ordered = 0, 0, None, -1.0, True
            while time.perf_counter() < budget_end:
                result = tracking.search_runs(
                    [project],
                    None,
                    [workload.PAGE_ORDER_BY],
                    max_results=page_size,
                    page_token=token,
                )
                pages += 1
                for run in result.items:
                    value = run.metrics["m0"].value
                    ordered = ordered and value >= last
                    last = value
                runs += len(result.items)
                token = result.next_page_token
                if not token:
                    break
            results.append(
                {
                    "seconds": time.perf_counter() - started,
                    "runs": runs,
                    "pages": pages,
                    "complete": not token,
                    "ordered": ordered,
                }
            )
    finally:
        tracking.close()
    return {"passes": results}
