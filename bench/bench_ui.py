"""UI benchmark: the runs page of 10,000 runs (20 params, 10 metrics each) in Chromium.

Run it with windlass's virtualenv (``.venv/bin/python bench/bench_ui.py [--quick]``); it
needs Debian's Chromium (``/usr/bin/chromium``), the ``playwright`` package (dev extra) and
MLflow's virtualenv (``bench/setup_peers.sh``). It fills, in a temporary folder, a windlass
SQLite store through the SDK and an MLflow SQLite store with MLflow's own SQL store
(``peers/mlflow_ui_fill.py``), the same runs for both (:func:`workload.ui_runs`). It serves
windlass's UI on a loopback port, starts ``mlflow server`` (3.17.2) on another, and measures,
in one Chromium, a fresh browser context per page load, alternating the two tools:

- each runs page's first contentful paint and the time until its table shows runs;
- for windlass, a filter change (type a metric filter, press Enter) until the filtered
  table shows.

It prints both tools' figures with the ratio and writes them, raw samples included, to
``.bench/results-ui[-quick].json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

import report
import servers
import windlass
import workload
from windlass.server.app import create_app
from windlass.tracking.backend import open_tracking

CHROMIUM = "/usr/bin/chromium"
MLFLOW_PYTHON = servers.MLFLOW_VENV / "bin" / "python"
PARAMS, METRICS = workload.UI_PARAMS_PER_RUN, workload.UI_METRICS_PER_RUN
FILL_TIMEOUT_S = 1800.0  # MLflow writes about 17 runs/s here: 10,000 runs take ~10 min
PAGE_TIMEOUT_MS = 60_000
# A run-name link in a row of MLflow's runs table (AG Grid pins that column left).
MLFLOW_ROW = "div.ag-row a[href*='/runs/']"
WINDLASS_ROW = "table.runs tbody tr a.row-link"
FILTER = "metrics.m0 < 0.25 and params.p1 = 'v3'"


def fill(store: str, artifacts: str, runs: int) -> float:
    """Log ``runs`` runs of PARAMS params and METRICS metrics; return the seconds it took."""
    started = time.perf_counter()
    with windlass.Client(store, project="bench", artifact_uri=artifacts) as client:
        for name, params, metrics in workload.ui_runs(runs):
            with client.runs.start(name=name):
                client.runs.log_params(params)
                for key, value in metrics.items():
                    client.runs.log_metric(key, value, step=0)
    return time.perf_counter() - started


def fill_mlflow(data: Path, runs: int) -> dict[str, Any]:
    """Fill MLflow's SQLite store under ``data`` in its own venv; return its RESULT line."""
    cmd = [
        str(MLFLOW_PYTHON),
        str(servers.ROOT / "bench" / "peers" / "mlflow_ui_fill.py"),
        "--store",
        f"sqlite:///{data / 'mlflow.db'}",
        "--artifacts",
        str(data / "art"),
        "--experiment",
        "bench",
        "--runs",
        str(runs),
        "--max-seconds",
        str(FILL_TIMEOUT_S - 120),
    ]
    data.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        cmd,
        env=servers.peer_env(),
        capture_output=True,
        text=True,
        timeout=FILL_TIMEOUT_S,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"MLflow fill failed ({done.returncode}):\n{done.stderr[-2000:]}")


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _first_paint(page: Any) -> float | None:
    fcp = page.evaluate(
        "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"
    )
    return None if fcp is None else float(fcp)


def windlass_try(page: Any, url: str) -> dict[str, float | None]:
    """Load windlass's runs page, then change its filter; return the times (ms)."""
    started = time.perf_counter()
    page.goto(f"{url}/projects/bench/runs", timeout=PAGE_TIMEOUT_MS)
    page.locator(WINDLASS_ROW).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    table_ms = (time.perf_counter() - started) * 1000
    fcp_ms = _first_paint(page)
    page.fill("#filter", FILTER)
    started = time.perf_counter()
    page.keyboard.press("Enter")
    # The filtered table: the page swaps it in (or loads it whole without JS).
    page.wait_for_url(re.compile(r"filter="), wait_until="commit", timeout=PAGE_TIMEOUT_MS)
    page.locator("main:not([aria-busy]) input#filter[value^='metrics.m0']").wait_for(
        timeout=PAGE_TIMEOUT_MS
    )
    filter_ms = (time.perf_counter() - started) * 1000
    return {"fcp_ms": fcp_ms, "table_ms": table_ms, "filter_ms": filter_ms}


def mlflow_try(page: Any, url: str, experiment_id: str) -> dict[str, float | None]:
    """Load MLflow's runs page of the experiment; return first paint and table times (ms).

    MLflow 3.x opens an experiment on its GenAI overview unless the model-training workflow
    is asked for (the UI's "Model training" switch sets this same query parameter).
    """
    started = time.perf_counter()
    page.goto(
        f"{url}/#/experiments/{experiment_id}/runs?workflowType=machine_learning",
        timeout=PAGE_TIMEOUT_MS,
    )
    page.locator(MLFLOW_ROW).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    table_ms = (time.perf_counter() - started) * 1000
    return {"fcp_ms": _first_paint(page), "table_ms": table_ms}


def measure(
    tries: dict[str, Callable[[Any], dict[str, float | None]]], repeat: int, home: str
) -> dict[str, dict[str, list[float]]]:
    """Run every tool's try ``repeat`` times, each in a fresh context, alternating the order.

    One untimed try per tool comes first, so that neither server is measured cold.
    """
    from playwright.sync_api import sync_playwright

    figures: dict[str, dict[str, list[float]]] = {name: {} for name in tries}
    names = list(tries)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu"],
            env={"HOME": home, "PATH": os.environ.get("PATH", "")},
        )
        try:
            for name in names:  # one untimed load each: both servers warm, as in use
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                try:
                    tries[name](context.new_page())
                finally:
                    context.close()
            for attempt in range(repeat):
                # ABBA...: a drift of the machine during the run falls on both tools.
                for name in names if attempt % 2 == 0 else names[::-1]:
                    context = browser.new_context(viewport={"width": 1440, "height": 900})
                    try:
                        result = tries[name](context.new_page())
                    finally:
                        context.close()
                    for key, value in result.items():
                        if value is not None:
                            figures[name].setdefault(key, []).append(value)
                    shown = ", ".join(f"{k} {v:.0f}" for k, v in result.items() if v is not None)
                    print(f"  try {attempt + 1}/{repeat} {name}: {shown}", flush=True)
        finally:
            browser.close()
    return figures


def _median(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def _load() -> list[float]:
    """Return the 1, 5 and 15 minute load averages (the machine may be shared)."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def build_figures(
    fills: dict[str, float], figures: dict[str, dict[str, list[float]]]
) -> list[report.Figure]:
    """Return the table rows: page figures (medians) and fill times, MLflow beside windlass."""
    ours, theirs = figures["windlass"], figures["mlflow"]
    return [
        report.Figure(
            "runs page: first contentful paint",
            "ms",
            _median(ours.get("fcp_ms")),
            _median(theirs.get("fcp_ms")),
            higher_is_better=False,
        ),
        report.Figure(
            "runs page: until the table shows runs",
            "ms",
            _median(ours.get("table_ms")),
            _median(theirs.get("table_ms")),
            higher_is_better=False,
        ),
        report.Figure(
            "a filter change (Enter to the filtered table)",
            "ms",
            _median(ours.get("filter_ms")),
            None,
            higher_is_better=False,
            note="windlass only",
        ),
        report.Figure(
            "fill the store (each tool's own API)",
            "s",
            fills["windlass"],
            fills["mlflow"],
            higher_is_better=False,
        ),
    ]


def main() -> int:
    """Fill both stores, serve both UIs, measure, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 runs, 2 tries")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="JSON output")
    args = parser.parse_args()
    runs = args.runs or (1_000 if args.quick else 10_000)
    repeat = 2 if args.quick else 5
    out = args.out or servers.ROOT / ".bench" / (
        "results-ui-quick.json" if args.quick else "results-ui.json"
    )
    if not Path(CHROMIUM).exists():
        print("bench_ui: /usr/bin/chromium is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    if not MLFLOW_PYTHON.exists():
        print(f"bench_ui: {MLFLOW_PYTHON} is missing: run bench/setup_peers.sh", file=sys.stderr)
        return 2
    load_before = _load()
    print(
        f"UI benchmark: {runs} runs, {repeat} tries each; {os.cpu_count()} CPUs, load {load_before}"
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="windlass-bench-ui-") as tmp:
        os.environ["WINDLASS_HOME"] = f"{tmp}/home"  # keep the SDK away from ~/.windlass
        store = f"sqlite:///{tmp}/ui.db"
        fills = {"windlass": fill(store, f"{tmp}/artifacts", runs)}
        print(
            f"windlass: filled {runs} runs x {PARAMS} params x {METRICS} metrics "
            f"in {fills['windlass']:.1f} s",
            flush=True,
        )
        mlflow_data = Path(tmp) / "mlflow"
        filled = fill_mlflow(mlflow_data, runs)
        if filled["runs"] != runs:
            print(
                f"bench_ui: MLflow filled only {filled['runs']} runs in its time bound",
                file=sys.stderr,
            )
            return 1
        fills["mlflow"] = float(filled["seconds"])
        print(
            f"MLflow:   filled {runs} runs x {PARAMS} params x {METRICS} metrics "
            f"in {fills['mlflow']:.1f} s",
            flush=True,
        )
        app = create_app(open_tracking(store, f"{tmp}/artifacts"), auth=False)
        port = servers.free_port()
        cmd = servers.mlflow_command(port, mlflow_data)
        with (
            served(app) as url,
            servers.running("mlflow", cmd, mlflow_data, port, servers.peer_env()) as mlflow,
        ):
            # MLflow's job runner starts its consumer processes after /health answers.
            settled = mlflow.settled_memory()
            print(
                f"mlflow server healthy in {mlflow.seconds_to_healthy:.1f} s, idle at "
                f"{settled.rss_mb:.0f} MB RSS over {settled.processes} processes",
                flush=True,
            )
            mlflow_server = {
                "seconds_to_healthy": mlflow.seconds_to_healthy,
                "idle_rss_mb": settled.rss_mb,
                "processes": settled.processes,
            }
            experiment_id = str(filled["experiment_id"])
            figures = measure(
                {
                    "windlass": lambda page: windlass_try(page, url),
                    "mlflow": lambda page: mlflow_try(page, mlflow.url, experiment_id),
                },
                repeat,
                tmp,
            )
    rows = build_figures(fills, figures)
    print("\n" + report.table(rows))
    for name, values in figures.items():
        for key, samples in values.items():
            print(
                f"{name:>9} {key:>9}: median {statistics.median(samples):7.1f}  "
                f"min {min(samples):7.1f}  (n={len(samples)})"
            )
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "runs": runs,
        "params": PARAMS,
        "metrics": METRICS,
        "tries": repeat,
        "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": _load()},
        "total_seconds": time.monotonic() - started,
    }
    report.write_json(
        out,
        meta,
        {"fill_seconds": fills, "mlflow_server": mlflow_server, "pages_ms": figures},
        rows,
        [],
    )
    print(f"\nload after {meta['machine']['load_after']}; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
