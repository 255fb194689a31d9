"""Tracking benchmark: windlass against MLflow 3.17.2, side by side, each on its own server.

Run it with windlass's virtualenv (``make bench``, or ``.venv/bin/python
bench/bench_tracking.py [--quick]``) after ``bench/setup_peers.sh`` has put MLflow in
``.bench/mlflow-venv``. windlass is driven in this process through its SDK; MLflow through
``bench/peers/mlflow_tracking.py`` run by MLflow's own interpreter. Both servers bind
127.0.0.1 and store in SQLite files under a temporary folder removed at the end.

Figures (the README explains each): metric logging points/s, ``search_runs`` over 2,000 runs,
paging through 10,000 runs in metric order, and server idle memory and time to healthy.
Results are printed as a table and written to ``.bench/results-tracking.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import report
import servers
import workload
from report import Figure, Target

PEER_SCRIPT = Path(__file__).resolve().parent / "peers" / "mlflow_tracking.py"
MLFLOW_PYTHON = servers.MLFLOW_VENV / "bin" / "python"
PROJECT = "bench-runs"


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does (full sizes are the issue's)."""

    metric_points: int  # windlass log_metric points
    mlflow_calls: int  # MLflow log_metric calls (one request each) ...
    mlflow_call_seconds: float  # ... or this long, whichever comes first
    mlflow_batch_points: int  # MLflow log_batch points, 1,000 per request
    search_runs: int  # runs in the project searched by the search figure
    search_repeat: int  # timed repetitions (after one warm-up)
    page_runs: int  # runs in the project paged through
    page_size: int
    page_passes: int  # timed passes (median) ...
    page_budget_s: float  # ... within this per tool (a longer first pass shows as ">")
    page_repeat_within_s: float  # ... and none started after this long
    sequential_runs: int  # runs created one by one and timed (the rest MLflow does threaded)
    mlflow_threads: int
    footprint_starts: int  # server starts (median); the first one creates the store
    mlflow_one_worker: bool  # also measure `mlflow server --workers 1`


FULL = Sizes(
    metric_points=200_000,
    mlflow_calls=2_000,
    mlflow_call_seconds=20.0,
    mlflow_batch_points=100_000,
    search_runs=2_000,
    search_repeat=7,
    page_runs=10_000,
    page_size=1_000,
    page_passes=3,
    page_budget_s=300.0,
    page_repeat_within_s=60.0,
    sequential_runs=100,
    mlflow_threads=8,
    footprint_starts=3,
    mlflow_one_worker=True,
)
QUICK = Sizes(
    metric_points=20_000,
    mlflow_calls=200,
    mlflow_call_seconds=5.0,
    mlflow_batch_points=10_000,
    search_runs=200,
    search_repeat=3,
    page_runs=2_000,
    page_size=1_000,
    page_passes=1,
    page_budget_s=60.0,
    page_repeat_within_s=10.0,
    sequential_runs=20,
    mlflow_threads=8,
    footprint_starts=1,
    mlflow_one_worker=False,
)


def log(message: str) -> None:
    """Print a progress line at once."""
    print(message, flush=True)


def run_peer(command: str, *args: object, timeout: float = 900.0) -> dict[str, Any]:
    """Run one MLflow helper subcommand and return its ``RESULT`` JSON."""
    cmd = [str(MLFLOW_PYTHON), str(PEER_SCRIPT), command, *(str(a) for a in args)]
    done = subprocess.run(
        cmd, env=servers.peer_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(
        f"MLflow helper {command!r} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
    )


def _phase(raw: dict[str, Any], name: str, body: Callable[[dict[str, Any]], None]) -> None:
    """Run one phase into ``raw[name]``; a failure is recorded and the others still run."""
    raw[name] = {}
    started = time.monotonic()
    try:
        body(raw[name])
    except Exception as exc:  # report the failure, keep the other figures
        traceback.print_exc()
        raw[name]["error"] = f"{type(exc).__name__}: {exc}"
    raw[name]["phase_seconds"] = time.monotonic() - started


def windlass_phase(sizes: Sizes, data: Path, out: dict[str, Any]) -> None:
    """Measure windlass: metrics, populate + search, grow + page (one server)."""
    import windlass_side as ws

    os.environ["WINDLASS_ARTIFACT_URI"] = str(data / "art")  # for the embedded populate
    port = servers.free_port()
    with servers.running("windlass", servers.windlass_command(port, data), data, port) as server:
        log(f"windlass server on {server.url} (healthy in {server.seconds_to_healthy:.2f} s)")
        out["log_metrics"] = r = ws.log_metrics(server.url, sizes.metric_points, 300.0)
        log(
            f"  log_metric x{r['points']:,} + flush: {r['points_per_s']:,.0f} points/s "
            f"(loop {r['loop_seconds']:.2f} s, total {r['seconds']:.2f} s), "
            f"stored {r['stored']:,}"
        )
        out["populate_search"] = r = ws.populate_sdk(
            server.url, PROJECT, 0, sizes.search_runs, sizes.sequential_runs
        )
        log(
            f"  created {r['runs']:,} runs through the server in {r['seconds']:.1f} s "
            f"({r['sequential_runs_per_s']:.1f} runs/s)"
        )
        out["search"] = r = ws.search(server.url, PROJECT, sizes.search_runs, sizes.search_repeat)
        log(
            f"  search_runs -> list: median {r['median_s'] * 1000:.1f} ms, "
            f"{r['matches'][0]:,} matches"
        )
        out["search_pandas"] = r = ws.search(
            server.url, PROJECT, sizes.search_runs, sizes.search_repeat, "pandas"
        )
        log(f"  search_runs -> DataFrame: median {r['median_s'] * 1000:.1f} ms")
        more = sizes.page_runs - sizes.search_runs
        out["populate_paging"] = r = ws.populate_embedded(
            f"sqlite:///{data / 'windlass.db'}", PROJECT, sizes.search_runs, more
        )
        log(f"  added {more:,} runs in embedded mode in {r['seconds']:.1f} s")
        out["page"] = r = ws.page(
            server.url,
            PROJECT,
            sizes.page_size,
            sizes.page_passes,
            sizes.page_budget_s,
            sizes.page_repeat_within_s,
        )
        log(
            "  paging: "
            + ", ".join(f"{p['runs']:,} runs in {p['seconds']:.2f} s" for p in r["passes"])
        )


#: Rounds of the auth phase: auth off and auth on alternate, a median over these.
AUTH_ROUNDS = 5
#: Runs created in a row on one server before the auth phase switches to the other.
AUTH_BLOCK = 10


@contextlib.contextmanager
def _token(token: str | None) -> Iterator[None]:
    """Send ``token`` with the SDK's requests inside the block (None: no token)."""
    if token is None:
        yield
        return
    os.environ["WINDLASS_TOKEN"] = token
    try:
        yield
    finally:
        os.environ.pop("WINDLASS_TOKEN", None)


def windlass_auth_phase(sizes: Sizes, data: Path, out: dict[str, Any]) -> None:
    """Measure windlass with auth off and on side by side: metric logging and run creation.

    Two servers run at once, one with auth off and one with ``WINDLASS_AUTH=on`` (the SDK
    sends an API token with every request); the rounds alternate between them, so a load
    that drifts during the phase falls on both alike. Each figure is a median of rounds.
    """
    import windlass_side as ws

    off_dir, on_dir = data / "off", data / "on"
    off_dir.mkdir(parents=True, exist_ok=True)
    on_dir.mkdir(parents=True, exist_ok=True)
    token = ws.bootstrap_token(f"sqlite:///{on_dir / 'windlass.db'}")
    off_port, on_port = servers.free_port(), servers.free_port()
    env_on = {**os.environ, "WINDLASS_AUTH": "on"}
    runs = sizes.sequential_runs
    figures: dict[str, dict[str, list[float]]] = {
        "off": {"points_per_s": [], "runs_per_s": []},
        "on": {"points_per_s": [], "runs_per_s": []},
    }
    with (
        servers.running(
            "windlass-auth-off", servers.windlass_command(off_port, off_dir), off_dir, off_port
        ) as off,
        servers.running(
            "windlass-auth-on", servers.windlass_command(on_port, on_dir), on_dir, on_port, env_on
        ) as on,
    ):
        log(f"windlass servers, auth off on {off.url} and auth on on {on.url}")
        modes = (("off", off), ("on", on))
        for round_ in range(AUTH_ROUNDS):
            for mode, server in modes:
                with _token(token if mode == "on" else None):
                    r = ws.log_metrics(server.url, sizes.metric_points, 300.0)
                figures[mode]["points_per_s"].append(r["points_per_s"])
            # Run creation alternates in blocks of AUTH_BLOCK runs: a drift of the machine's
            # speed within the round falls on both modes alike.
            seconds = {"off": 0.0, "on": 0.0}
            for first in range(0, runs, AUTH_BLOCK):
                count = min(AUTH_BLOCK, runs - first)
                for mode, server in modes:
                    with _token(token if mode == "on" else None):
                        start = round_ * runs + first
                        r = ws.populate_sdk(server.url, PROJECT, start, count, count)
                    seconds[mode] += r["sequential_seconds"]
            for mode in seconds:
                figures[mode]["runs_per_s"].append(runs / seconds[mode])
            log(
                f"  round {round_ + 1}/{AUTH_ROUNDS}: log_metric "
                f"{figures['off']['points_per_s'][-1]:,.0f} / "
                f"{figures['on']['points_per_s'][-1]:,.0f} points/s, run creation "
                f"{figures['off']['runs_per_s'][-1]:.1f} / {figures['on']['runs_per_s'][-1]:.1f} "
                "runs/s (auth off / on)"
            )
    for mode, found in figures.items():
        out[mode] = {
            "rounds": found,
            "points_per_s": statistics.median(found["points_per_s"]),
            "runs_per_s": statistics.median(found["runs_per_s"]),
        }
    # Auth on's share of auth off, round by round (each pair measured side by side); the
    # median of those is the figure.
    for key in ("points_per_s", "runs_per_s"):
        pairs = zip(figures["on"][key], figures["off"][key], strict=True)
        out[f"share_{key}"] = statistics.median(100.0 * on_ / off_ for on_, off_ in pairs)


def mlflow_phase(sizes: Sizes, data: Path, out: dict[str, Any]) -> None:
    """Measure MLflow the same way, through its helper script (one server)."""
    port = servers.free_port()
    with servers.running(
        "mlflow", servers.mlflow_command(port, data), data, port, servers.peer_env()
    ) as server:
        url = server.url
        log(f"mlflow server on {url} (healthy in {server.seconds_to_healthy:.2f} s)")
        out["log_metric"] = r = run_peer(
            "log-metric",
            "--url",
            url,
            "--max-calls",
            sizes.mlflow_calls,
            "--max-seconds",
            sizes.mlflow_call_seconds,
        )
        log(
            f"  log_metric x{r['points']:,} (one request each): "
            f"{r['points_per_s']:,.1f} points/s, stored {r['stored']:,}"
        )
        out["log_batch"] = r = run_peer(
            "log-batch",
            "--url",
            url,
            "--points",
            sizes.mlflow_batch_points,
            "--batch",
            workload.MAX_BATCH,
            "--max-seconds",
            300,
        )
        log(
            f"  log_batch x{r['points']:,} (1,000 per request): "
            f"{r['points_per_s']:,.0f} points/s, stored {r['stored']:,}"
        )
        out["populate_search"] = r = run_peer(
            "populate-server",
            "--url",
            url,
            "--experiment",
            PROJECT,
            "--count",
            sizes.search_runs,
            "--sequential",
            sizes.sequential_runs,
            "--threads",
            sizes.mlflow_threads,
        )
        log(
            f"  created {r['runs']:,} runs through the server in {r['seconds']:.1f} s "
            f"({r['sequential_runs_per_s']:.1f} runs/s sequential, then "
            f"{r['threads']} threads)"
        )
        out["search"] = r = run_peer(
            "search",
            "--url",
            url,
            "--experiment",
            PROJECT,
            "--max-results",
            sizes.search_runs,
            "--repeat",
            sizes.search_repeat,
        )
        log(
            f"  search_runs -> list: median {r['median_s'] * 1000:.1f} ms, "
            f"{r['matches'][0]:,} matches"
        )
        out["search_pandas"] = r = run_peer(
            "search",
            "--url",
            url,
            "--experiment",
            PROJECT,
            "--max-results",
            sizes.search_runs,
            "--repeat",
            sizes.search_repeat,
            "--pandas",
        )
        log(f"  search_runs -> DataFrame: median {r['median_s'] * 1000:.1f} ms")
        more = sizes.page_runs - sizes.search_runs
        out["populate_paging"] = r = run_peer(
            "populate-store",
            "--store",
            f"sqlite:///{data / 'mlflow.db'}",
            "--artifacts",
            data / "art",
            "--experiment",
            PROJECT,
            "--start",
            sizes.search_runs,
            "--count",
            more,
            timeout=1800,
        )
        log(f"  added {more:,} runs with its SQL store in {r['seconds']:.1f} s")
        out["page"] = r = run_peer(
            "page",
            "--url",
            url,
            "--experiment",
            PROJECT,
            "--page-size",
            sizes.page_size,
            "--passes",
            sizes.page_passes,
            "--budget-s",
            sizes.page_budget_s,
            "--repeat-within-s",
            sizes.page_repeat_within_s,
            timeout=sizes.page_budget_s + 300,
        )
        log(
            "  paging: "
            + ", ".join(f"{p['runs']:,} runs in {p['seconds']:.2f} s" for p in r["passes"])
        )
    if not sizes.mlflow_one_worker:
        return
    # MLflow's default server runs uvicorn with 4 workers; one request at a time may then
    # wait for a delayed ACK (uvicorn issue #3149), so measure one worker as well.
    port = servers.free_port()
    with servers.running(
        "mlflow-1",
        servers.mlflow_command(port, data / "one-worker", workers=1),
        data / "one-worker",
        port,
        servers.peer_env(),
    ) as server:
        out["log_metric_one_worker"] = r = run_peer(
            "log-metric",
            "--url",
            server.url,
            "--max-calls",
            sizes.mlflow_calls,
            "--max-seconds",
            sizes.mlflow_call_seconds,
        )
        log(
            f"  mlflow server --workers 1: log_metric x{r['points']:,}: "
            f"{r['points_per_s']:,.1f} points/s, stored {r['stored']:,}"
        )


def footprint_phase(sizes: Sizes, data: Path, out: dict[str, Any]) -> None:
    """Measure time to healthy and idle memory of each server (one cold + N warm starts)."""
    log(
        "server footprint (empty SQLite store; idle = no request but /health; "
        f"median of {sizes.footprint_starts} starts):"
    )
    out["windlass"] = servers.footprint(
        "windlass", servers.windlass_command, data / "fp-windlass", sizes.footprint_starts
    )
    out["mlflow"] = servers.footprint(
        "mlflow",
        servers.mlflow_command,
        data / "fp-mlflow",
        sizes.footprint_starts,
        servers.peer_env(),
    )
    if sizes.mlflow_one_worker:
        out["mlflow_one_worker"] = servers.footprint(
            "mlflow --workers 1",
            lambda port, d: servers.mlflow_command(port, d, workers=1),
            data / "fp-mlflow-1",
            sizes.footprint_starts,
            servers.peer_env(),
        )


def _paging(result: dict[str, Any], budget_s: float) -> tuple[float | None, bool]:
    complete = [p["seconds"] for p in result.get("passes", []) if p["complete"]]
    if complete:
        return statistics.median(complete), False
    return (budget_s, True) if result.get("passes") else (None, False)


def _get(raw: dict[str, Any], *path: str) -> Any:
    node: Any = raw
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def build_figures(raw: dict[str, Any], sizes: Sizes) -> list[Figure]:
    """Return the table's rows from the raw measurements."""
    w, m, fp = raw.get("windlass", {}), raw.get("mlflow", {}), raw.get("footprint", {})

    def ms(node: Any) -> float | None:
        return None if node is None else node * 1000

    wl_rate = _get(w, "log_metrics", "points_per_s")
    w_page, _ = _paging(w.get("page", {}), sizes.page_budget_s)
    m_page, m_bound = _paging(m.get("page", {}), sizes.page_budget_s)
    n_metric, n_search, n_page = (
        f"{sizes.metric_points:,}",
        f"{sizes.search_runs:,}",
        f"{sizes.page_runs:,}",
    )
    figures = [
        Figure(
            f"metric logging, {n_metric} points through the server",
            "points/s",
            wl_rate,
            _get(m, "log_metric", "points_per_s"),
            True,
            note="MLflow: log_metric, one request per point",
        ),
        Figure(
            f"metric logging, {n_metric} points through the server",
            "points/s",
            wl_rate,
            _get(m, "log_batch", "points_per_s"),
            True,
            note="MLflow: log_batch, 1,000 points per request",
        ),
    ]
    if "log_metric_one_worker" in m:
        figures.append(
            Figure(
                f"metric logging, {n_metric} points through the server",
                "points/s",
                wl_rate,
                _get(m, "log_metric_one_worker", "points_per_s"),
                True,
                note="MLflow --workers 1: log_metric, one request per point",
            )
        )
    figures += [
        Figure(
            f"search_runs over {n_search} runs, `{workload.SEARCH_FILTER}`, median",
            "ms",
            ms(_get(w, "search", "median_s")),
            ms(_get(m, "search", "median_s")),
            False,
            note="list of runs",
        ),
        Figure(
            f"search_runs over {n_search} runs, `{workload.SEARCH_FILTER}`, median",
            "ms",
            ms(_get(w, "search_pandas", "median_s")),
            ms(_get(m, "search_pandas", "median_s")),
            False,
            note="pandas DataFrame",
        ),
        Figure(
            f"page through {n_page} runs by `{workload.PAGE_ORDER_BY}`, "
            f"{sizes.page_size:,} per page",
            "s",
            w_page,
            m_page,
            False,
            m_bound,
        ),
        Figure(
            "create a run (5 params, 5 metrics, end) through the server, sequential",
            "runs/s",
            _get(w, "populate_search", "sequential_runs_per_s"),
            _get(m, "populate_search", "sequential_runs_per_s"),
            True,
        ),
    ]
    for key, label in (
        ("mlflow", "MLflow default: 4 workers + job runner"),
        ("mlflow_one_worker", "MLflow --workers 1"),
    ):
        if key not in fp:
            continue
        figures += [
            Figure(
                "server idle RSS, process tree",
                "MB",
                _get(fp, "windlass", "rss_mb"),
                _get(fp, key, "rss_mb"),
                False,
                note=label,
            ),
            Figure(
                "server spawn to healthy",
                "s",
                _get(fp, "windlass", "seconds_to_healthy"),
                _get(fp, key, "seconds_to_healthy"),
                False,
                note=label,
            ),
        ]
    return figures


def build_targets(raw: dict[str, Any], sizes: Sizes) -> list[Target]:
    """Return the issue's targets for windlass, checked against what was measured."""
    w, fp = raw.get("windlass", {}), raw.get("footprint", {})
    rate = _get(w, "log_metrics", "points_per_s")
    search_ms = _get(w, "search", "median_s")
    search_ms = None if search_ms is None else search_ms * 1000
    page_s, _ = _paging(w.get("page", {}), sizes.page_budget_s)
    rss = _get(fp, "windlass", "rss_mb")
    healthy = _get(fp, "windlass", "seconds_to_healthy")
    auth = raw.get("windlass_auth", {})
    auth_rate = _get(auth, "share_points_per_s")
    auth_runs = _get(auth, "share_runs_per_s")

    def met(value: float | None, ok: Callable[[float], bool]) -> bool:
        return value is not None and ok(value)

    return [
        Target(
            "metric logging",
            ">= 50,000 points/s",
            rate,
            "points/s",
            met(rate, lambda v: v >= 50_000),
        ),
        Target(
            f"search {sizes.search_runs:,} runs, median",
            "< 50 ms",
            search_ms,
            "ms",
            met(search_ms, lambda v: v < 50),
        ),
        Target(
            f"page through {sizes.page_runs:,} runs",
            "< 2 s",
            page_s,
            "s",
            met(page_s, lambda v: v < 2),
        ),
        Target("server idle RSS", "< 150 MB", rss, "MB", met(rss, lambda v: v < 150)),
        Target("server spawn to healthy", "< 2 s", healthy, "s", met(healthy, lambda v: v < 2)),
        Target(
            "metric logging, auth on, share of auth off",
            "> 90%",
            auth_rate,
            "%",
            met(auth_rate, lambda v: v > 90),
        ),
        Target(
            "run creation, auth on, share of auth off",
            "> 90%",
            auth_runs,
            "%",
            met(auth_runs, lambda v: v > 90),
        ),
    ]


def check_results(raw: dict[str, Any], sizes: Sizes) -> list[str]:
    """Return what went wrong: errors, points not stored, wrong matches, bad paging."""
    problems = [
        f"{phase}: {raw[phase]['error']}"
        for phase in raw
        if isinstance(raw[phase], dict) and "error" in raw[phase]
    ]
    expected = workload.expected_matches(sizes.search_runs)
    for tool in ("windlass", "mlflow"):
        node = raw.get(tool, {})
        for key in ("log_metrics", "log_metric", "log_batch", "log_metric_one_worker"):
            if key in node and node[key]["stored"] != node[key]["points"]:
                problems.append(
                    f"{tool} {key}: stored {node[key]['stored']} of {node[key]['points']} points"
                )
        for key in ("search", "search_pandas"):
            if key in node and any(c != expected for c in node[key]["matches"]):
                problems.append(
                    f"{tool} {key}: matches {node[key]['matches']}, expected {expected}"
                )
        for p in _get(node, "page", "passes") or []:
            if p["complete"] and (p["runs"] != sizes.page_runs or not p["ordered"]):
                problems.append(
                    f"{tool} paging: {p['runs']} runs (expected "
                    f"{sizes.page_runs}), ordered={p['ordered']}"
                )
    return problems


def _versions() -> dict[str, str]:
    """Return the versions and the git state of ``src/`` (without importing windlass)."""
    import importlib.metadata

    def out(cmd: list[str]) -> str:
        return subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=60, cwd=servers.ROOT
        ).stdout.strip()

    mlflow = out(
        [str(MLFLOW_PYTHON), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"]
    )
    dirty = out(["git", "status", "--porcelain", "--untracked-files=no", "--", "src"])
    return {
        "windlass": importlib.metadata.version("windlass"),
        "mlflow": mlflow or "unknown",
        "windlass_commit": out(["git", "rev-parse", "--short", "HEAD"]) or "unknown",
        "windlass_src_modified": str(bool(dirty)).lower(),
    }


def snapshot_source(data: Path) -> Path:
    """Copy ``src/windlass`` as it is now and put the copy first on the import path.

    Others may edit ``src/`` during a 13-minute run; the driver and the windlass server
    (which inherits ``PYTHONPATH``) both import this copy, so one run measures one version.
    The copy is compiled to bytecode here, as ``pip install`` compiles an installed package
    (and MLflow's): without it, every server start under ``PYTHONDONTWRITEBYTECODE=1``
    compiled windlass's source again and counted that in its time to healthy.
    """
    import compileall

    target = data / "src"
    shutil.copytree(
        servers.ROOT / "src" / "windlass",
        target / "windlass",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    compileall.compile_dir(target, quiet=1)
    sys.path.insert(0, str(target))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(target), os.environ.get("PYTHONPATH", "")) if p
    )
    return target


def _load() -> list[float]:
    """Return the 1, 5 and 15 minute load averages (the machine may be shared)."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def main() -> int:
    """Run every phase, print the table and the targets, write the JSON; 1 if a check fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON output (default .bench/results-tracking[-quick].json)",
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary stores")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    out = args.out or servers.ROOT / ".bench" / (
        "results-tracking-quick.json" if args.quick else "results-tracking.json"
    )
    if not MLFLOW_PYTHON.exists():
        log(f"{MLFLOW_PYTHON} is missing: run bench/setup_peers.sh first")
        return 2

    data = Path(tempfile.mkdtemp(prefix="windlass-bench-"))
    os.environ["WINDLASS_HOME"] = str(data / "home")  # keep the SDK away from ~/.windlass
    started = time.monotonic()
    load_before = _load()
    versions = _versions()  # the same instant as the snapshot below
    raw: dict[str, Any] = {}
    try:
        source = snapshot_source(data)
        import windlass

        if not Path(windlass.__file__).is_relative_to(source):
            log(f"windlass imports from {windlass.__file__}, not from the snapshot {source}")
            return 2
        log(f"tracking benchmark ({'quick' if args.quick else 'full'} sizes), data in {data}")
        log(
            f"windlass {versions['windlass']} at {versions['windlass_commit']} (src modified: "
            f"{versions['windlass_src_modified']}; measured from a copy), mlflow "
            f"{versions['mlflow']}; {os.cpu_count()} CPUs, load {load_before}"
        )
        _phase(raw, "footprint", lambda o: footprint_phase(sizes, data, o))
        _phase(raw, "windlass", lambda o: windlass_phase(sizes, data / "windlass", o))
        _phase(raw, "windlass_auth", lambda o: windlass_auth_phase(sizes, data / "auth", o))
        _phase(raw, "mlflow", lambda o: mlflow_phase(sizes, data / "mlflow", o))
    finally:
        if not args.keep_data:
            shutil.rmtree(data, ignore_errors=True)

    figures, targets = build_figures(raw, sizes), build_targets(raw, sizes)
    problems = check_results(raw, sizes)
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "sizes": asdict(sizes),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_before": load_before,
            "load_after": _load(),
        },
        "versions": versions,
        "src_changed_during_run": _versions() != versions,  # measured: the snapshot
        "total_seconds": time.monotonic() - started,
        "problems": problems,
    }
    report.write_json(out, meta, raw, figures, targets)
    log("\n" + report.table(figures))
    log("\n" + report.targets_table(targets))
    if args.quick:
        log("(quick sizes: the targets are the issue's for full sizes)")
    log(f"\ntotal {meta['total_seconds']:.0f} s; results in {out}")
    for problem in problems:
        log(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
