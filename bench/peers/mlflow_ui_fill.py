"""Fill MLflow's SQLite store with the UI benchmark's runs; run with ``.bench/mlflow-venv``.

The runs are :func:`workload.ui_runs` (the same names and values windlass gets), written
with MLflow's own ``SqlAlchemyStore`` straight into the SQLite file, before the server that
will serve it starts: per run ``create_run``, one ``log_batch`` (20 params, 10 metrics) and
``update_run_info`` to FINISHED. It times only that loop (not the interpreter start, the
import or the schema creation) and prints ``RESULT {json}``. Bounded by ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time

# Telemetry must be off before MLflow loads: the benchmark sends nothing anywhere.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow.entities import Metric, Param, RunStatus
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

import workload

logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)


def _now_ms() -> int:
    return int(time.time() * 1000)


def main() -> None:
    """Create the experiment and its runs; print the experiment id, the count and the time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True, help="sqlite:///... of the server to start")
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args()

    store = SqlAlchemyStore(args.store, args.artifacts)  # creates and migrates the schema
    experiment_id = store.create_experiment(args.experiment)
    created = 0
    started = time.perf_counter()
    deadline = started + args.max_seconds
    for name, params, metrics in workload.ui_runs(args.runs):
        if time.perf_counter() > deadline:
            break
        ts = _now_ms()
        run_id = store.create_run(experiment_id, "bench", ts, [], name).info.run_id
        store.log_batch(
            run_id,
            [Metric(k, v, ts, 0) for k, v in metrics.items()],
            [Param(k, v) for k, v in params.items()],
            [],
        )
        store.update_run_info(run_id, RunStatus.FINISHED, _now_ms(), None)
        created += 1
    seconds = time.perf_counter() - started
    result = {"experiment_id": experiment_id, "runs": created, "seconds": seconds}
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
