"""MLflow's side of the tracking benchmark, run with ``.bench/mlflow-venv/bin/python``.

MLflow lives in its own virtualenv, so the windlass driver runs this script once per
measurement (``PYTHONPATH=bench`` for :mod:`workload`). Each subcommand times only the work
itself (not the interpreter start or ``import mlflow``) and prints one line
``RESULT {json}`` for the driver to read. Every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# Telemetry must be off before MLflow loads: the benchmark sends nothing anywhere.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus

import workload

logging.getLogger("mlflow").setLevel(logging.WARNING)


def _emit(result: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(result), flush=True)


def _experiment_id(client: MlflowClient, name: str) -> str:
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else client.create_experiment(name)


def _now_ms() -> int:
    return int(time.time() * 1000)


def log_metric(args: argparse.Namespace) -> None:
    """Time ``MlflowClient.log_metric``, one synchronous request per point."""
    client = MlflowClient(args.url)
    run_id = client.create_run(
        _experiment_id(client, "bench-metrics"), run_name="log-metric"
    ).info.run_id
    calls = 0
    started = time.perf_counter()
    deadline = started + args.max_seconds
    while calls < args.max_calls and time.perf_counter() < deadline:
        client.log_metric(run_id, "loss", workload.metric_value(calls), step=calls)
        calls += 1
    seconds = time.perf_counter() - started
    stored = len(client.get_metric_history(run_id, "loss"))
    _emit({"points": calls, "seconds": seconds, "points_per_s": calls / seconds, "stored": stored})


def log_batch(args: argparse.Namespace) -> None:
    """Time ``MlflowClient.log_batch`` with ``args.batch`` points per request."""
    client = MlflowClient(args.url)
    run_id = client.create_run(
        _experiment_id(client, "bench-metrics"), run_name="log-batch"
    ).info.run_id
    sent = 0
    started = time.perf_counter()
    deadline = started + args.max_seconds
    while sent < args.points and time.perf_counter() < deadline:
        size = min(args.batch, args.points - sent)
        ts = _now_ms()
        metrics = [
            Metric("loss", workload.metric_value(step), ts, step)
            for step in range(sent, sent + size)
        ]
        client.log_batch(run_id, metrics=metrics)
        sent += size
    seconds = time.perf_counter() - started
    stored = len(client.get_metric_history(run_id, "loss"))
    _emit({"points": sent, "seconds": seconds, "points_per_s": sent / seconds, "stored": stored})


def _batch_of(spec: workload.RunSpec, ts: int) -> tuple[list[Metric], list[Param]]:
    metrics = [Metric(k, v, ts, 0) for k, v in spec.metrics.items()]
    params = [Param(k, v) for k, v in spec.params.items()]
    return metrics, params


def populate_server(args: argparse.Namespace) -> None:
    """Create runs through the server: create_run, one log_batch, set_terminated each."""
    client = MlflowClient(args.url)
    experiment_id = _experiment_id(client, args.experiment)

    def one(index: int) -> None:
        spec = workload.run_spec(index)
        run_id = client.create_run(experiment_id, run_name=spec.name).info.run_id
        metrics, params = _batch_of(spec, _now_ms())
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id)

    indexes = list(range(args.start, args.start + args.count))
    sequential, rest = indexes[: args.sequential], indexes[args.sequential :]
    started = time.perf_counter()
    for index in sequential:
        one(index)
    sequential_s = time.perf_counter() - started
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(one, rest))
    _emit(
        {
            "runs": len(indexes),
            "seconds": time.perf_counter() - started,
            "sequential_runs": len(sequential),
            "sequential_seconds": sequential_s,
            "sequential_runs_per_s": len(sequential) / sequential_s if sequential else None,
            "threads": args.threads,
        }
    )


def populate_store(args: argparse.Namespace) -> None:
    """Create runs with MLflow's own SQL store, straight into the server's SQLite file."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(args.store, args.artifacts)
    found = store.get_experiment_by_name(args.experiment)
    experiment_id = (
        found.experiment_id if found is not None else store.create_experiment(args.experiment)
    )
    started = time.perf_counter()
    for index in range(args.start, args.start + args.count):
        spec = workload.run_spec(index)
        ts = _now_ms()
        run_id = store.create_run(experiment_id, "bench", ts, [], spec.name).info.run_id
        metrics, params = _batch_of(spec, ts)
        store.log_batch(run_id, metrics, params, [])
        store.update_run_info(run_id, RunStatus.FINISHED, _now_ms(), None)
    _emit({"runs": args.count, "seconds": time.perf_counter() - started})


def search(args: argparse.Namespace) -> None:
    """Time search_runs with a metric filter returning every match (list, or DataFrame)."""
    import mlflow

    mlflow.set_tracking_uri(args.url)
    client = MlflowClient(args.url)
    experiment_id = _experiment_id(client, args.experiment)

    def once() -> int:
        if args.pandas:
            frame = mlflow.search_runs([experiment_id], args.filter, max_results=args.max_results)
            return len(frame)
        return len(client.search_runs([experiment_id], args.filter, max_results=args.max_results))

    once()  # warm-up, not timed
    seconds, counts = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        counts.append(once())
        seconds.append(time.perf_counter() - started)
    _emit({"seconds": seconds, "median_s": statistics.median(seconds), "matches": counts})


def page(args: argparse.Namespace) -> None:
    """Time paging through every run of an experiment in metric order (bounded in time)."""
    client = MlflowClient(args.url)
    experiment_id = _experiment_id(client, args.experiment)
    first = time.perf_counter()
    budget_end = first + args.budget_s
    passes: list[dict[str, Any]] = []
    while len(passes) < args.passes and time.perf_counter() < budget_end:
        if passes and time.perf_counter() - first >= args.repeat_within_s:
            break  # slow passes are not repeated: one is enough to show the figure
        started = time.perf_counter()
        runs, pages, token, last, ordered = 0, 0, None, -1.0, True
        while time.perf_counter() < budget_end:
            result = client.search_runs(
                [experiment_id],
                "",
                max_results=args.page_size,
                order_by=[args.order_by],
                page_token=token,
            )
            pages += 1
            for run in result:
                value = run.data.metrics["m0"]
                ordered = ordered and value >= last
                last = value
            runs += len(result)
            token = result.token
            if not token:
                break
        passes.append(
            {
                "seconds": time.perf_counter() - started,
                "runs": runs,
                "pages": pages,
                "complete": not token,
                "ordered": ordered,
            }
        )
    _emit({"passes": passes})


def main() -> None:
    """Parse the subcommand and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(required=True)

    cmd = sub.add_parser("log-metric")
    cmd.add_argument("--url", required=True)
    cmd.add_argument("--max-calls", type=int, default=2000)
    cmd.add_argument("--max-seconds", type=float, default=20.0)
    cmd.set_defaults(func=log_metric)

    cmd = sub.add_parser("log-batch")
    cmd.add_argument("--url", required=True)
    cmd.add_argument("--points", type=int, default=100_000)
    cmd.add_argument("--batch", type=int, default=workload.MAX_BATCH)
    cmd.add_argument("--max-seconds", type=float, default=120.0)
    cmd.set_defaults(func=log_batch)

    cmd = sub.add_parser("populate-server")
    cmd.add_argument("--url", required=True)
    cmd.add_argument("--experiment", required=True)
    cmd.add_argument("--start", type=int, default=0)
    cmd.add_argument("--count", type=int, required=True)
    cmd.add_argument("--sequential", type=int, default=0)
    cmd.add_argument("--threads", type=int, default=8)
    cmd.set_defaults(func=populate_server)

    cmd = sub.add_parser("populate-store")
    cmd.add_argument("--store", required=True)
    cmd.add_argument("--artifacts", required=True)
    cmd.add_argument("--experiment", required=True)
    cmd.add_argument("--start", type=int, default=0)
    cmd.add_argument("--count", type=int, required=True)
    cmd.set_defaults(func=populate_store)

    cmd = sub.add_parser("search")
    cmd.add_argument("--url", required=True)
    cmd.add_argument("--experiment", required=True)
    cmd.add_argument("--filter", default=workload.SEARCH_FILTER)
    cmd.add_argument("--max-results", type=int, required=True)
    cmd.add_argument("--repeat", type=int, default=7)
    cmd.add_argument("--pandas", action="store_true")
    cmd.set_defaults(func=search)

    cmd = sub.add_parser("page")
    cmd.add_argument("--url", required=True)
    cmd.add_argument("--experiment", required=True)
    cmd.add_argument("--order-by", default=workload.PAGE_ORDER_BY)
    cmd.add_argument("--page-size", type=int, default=1000)
    cmd.add_argument("--passes", type=int, default=3)
    cmd.add_argument("--budget-s", type=float, default=300.0)
    cmd.add_argument("--repeat-within-s", type=float, default=60.0)
    cmd.set_defaults(func=page)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
