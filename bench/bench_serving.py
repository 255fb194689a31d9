"""Serving benchmark: windlass's model server against a bare app, BentoML and MLflow.

Run it with windlass's virtualenv (``.venv/bin/python bench/bench_serving.py [--quick]
[--duration 20]``) after ``bench/setup_peers.sh`` has made ``.bench/mlflow-venv`` and
``.bench/bentoml-venv``, with ``wrk`` installed. A peer whose virtualenv is missing is
skipped, and the output says so.

Every server answers with the same scikit-learn LogisticRegression (20 float features,
:mod:`serving_model`), binds 127.0.0.1 on a free port and is checked against the model's
own predictions for known rows before any load. Figures: single-row JSON throughput and
latency at 16 concurrent connections (wrk), windlass with batching at 64, and a
sequential keep-alive test with 2 workers (the delayed-ACK check of DESIGN.md). Results
are printed as one table plus the issue's targets and written to
``.bench/results-serving.json``. Exit 1 on a wrong prediction or a non-2xx answer.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import servers
import serving_load as load
import serving_model
import serving_report as report
import serving_servers as ss
from bench_tracking import _load, _phase, log, snapshot_source

PROJECT = "bench-serving"
MODEL_NAME = "bench-logreg"


@dataclass(frozen=True)
class Sizes:
    """How long each measurement runs (full sizes are the issue's)."""

    seconds: float  # each wrk measurement
    warmup_s: float  # wrk at the same concurrency before each measurement, discarded
    clients: int  # concurrent connections, single-row requests
    batch_clients: int  # concurrent connections for the batching figure
    sequential: int  # requests on one keep-alive connection ...
    sequential_max_s: float  # ... or this long, whichever comes first
    loadgen_s: float  # wrk against the fixed-answer server


def sizes_for(quick: bool, seconds: float | None) -> Sizes:
    """Return the full (or quick) sizes, with ``--duration`` overriding the wrk time."""
    if quick:
        return Sizes(seconds or 5.0, 1.0, 16, 64, 500, 5.0, 2.0)
    return Sizes(seconds or 20.0, 3.0, 16, 64, 2_000, 20.0, 5.0)


class Context:
    """What every phase needs: sizes, the folder, the workload, the check results."""

    def __init__(self, sizes: Sizes, data: Path, work: dict[str, Any]) -> None:
        self.sizes = sizes
        self.data = data
        self.work = work
        self.records = [k["record"] for k in work["known"]]
        self.expected = [k["prediction"] for k in work["known"]]

    def check(self, spec: ss.Spec, out: dict[str, Any]) -> None:
        """Ask ``spec``'s server for every known row, one by one and all at once."""
        got: list[Any] = []
        statuses: list[int] = []
        for rec in self.records:
            status, body = load.post_json(
                servers.HOST, spec.port, spec.predict_path, spec.body([rec])
            )
            statuses.append(status)
            preds = body.get("predictions") if isinstance(body, dict) else None
            got.append(preds[0] if isinstance(preds, list) and len(preds) == 1 else body)
        status, body = load.post_json(
            servers.HOST, spec.port, spec.predict_path, spec.body(self.records)
        )
        statuses.append(status)
        batch = body.get("predictions") if isinstance(body, dict) else body
        ok = all(s == 200 for s in statuses) and got == self.expected and batch == self.expected
        out["check"] = {
            "ok": ok,
            "expected": self.expected,
            "single": got,
            "batch": batch,
            "statuses": statuses,
        }
        log(
            f"  known rows: {'agree' if ok else 'DISAGREE'} with the model "
            f"({len(self.records)} single-row requests and one of {len(self.records)} rows)"
        )
        if not ok:
            raise RuntimeError(
                f"{spec.name} answered {got} / {batch} with statuses "
                f"{statuses}; the model says {self.expected}"
            )

    def load(self, spec: ss.Spec, connections: int) -> dict[str, Any]:
        """Warm up, then run wrk with ``connections`` single-row clients; return the summary."""
        url = f"http://{servers.HOST}:{spec.port}{spec.predict_path}"
        body = json.dumps(spec.body([self.work["load_record"]])).encode()
        load.wrk(url, body, connections=connections, seconds=self.sizes.warmup_s)
        r = load.wrk(url, body, connections=connections, seconds=self.sizes.seconds)
        log(
            f"  {connections} clients, {r['seconds']:.0f} s: {r['rps']:,.0f} req/s, "
            f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, errors {r['errors']}"
        )
        return r

    def sequential(self, spec: ss.Spec) -> dict[str, Any]:
        """Time single-row requests one after another on one keep-alive connection."""
        body = json.dumps(spec.body([self.work["load_record"]])).encode()
        load.sequential(
            servers.HOST, spec.port, spec.predict_path, body, requests=50, max_seconds=5.0
        )  # warm-up
        r = load.sequential(
            servers.HOST,
            spec.port,
            spec.predict_path,
            body,
            requests=self.sizes.sequential,
            max_seconds=self.sizes.sequential_max_s,
        )
        log(
            f"  sequential keep-alive: {r['requests']:,} requests in {r['seconds']:.1f} s, "
            f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, {r['over_20ms']} over "
            f"20 ms, {r['connects']} connection(s)"
        )
        return r


def _served(server: servers.Server, out: dict[str, Any]) -> None:
    memory = server.memory()
    out["server"] = {
        "seconds_to_ready": server.seconds_to_healthy,
        "rss_mb": memory.rss_mb,
        "pss_mb": memory.pss_mb,
        "processes": memory.processes,
    }


def loadgen_phase(ctx: Context, out: dict[str, Any]) -> None:
    """Measure wrk against a server that answers without parsing: the client's ceiling."""
    spec = ss.bare(ctx.work["model_path"], servers.free_port(), trivial=True)
    with ss.running(spec, ctx.data / "trivial"):
        url = f"http://{servers.HOST}:{spec.port}/"
        out["wrk"] = r = load.wrk(
            url, None, connections=ctx.sizes.clients, seconds=ctx.sizes.loadgen_s
        )
    log(
        f"load generator: wrk -t1 -c{ctx.sizes.clients} against a fixed-answer server: "
        f"{r['rps']:,.0f} req/s (its ceiling here, with the server on the other core)"
    )


def bare_phase(ctx: Context, out: dict[str, Any]) -> None:
    """Measure the bare Starlette app: 16 and 64 clients."""
    spec = ss.bare(ctx.work["model_path"], servers.free_port())
    with ss.running(spec, ctx.data / "bare") as server:
        log(f"bare Starlette app on {server.url} (ready in {server.seconds_to_healthy:.2f} s)")
        ctx.check(spec, out)
        out["load"] = ctx.load(spec, ctx.sizes.clients)
        out["load_batch_clients"] = ctx.load(spec, ctx.sizes.batch_clients)
        _served(server, out)


def windlass_phase(ctx: Context, out: dict[str, Any], env: dict[str, str], uri: str) -> None:
    """Measure ``windlass serve`` (defaults): 16 and 64 clients, sequential with 1 worker."""
    spec = ss.windlass(uri, servers.free_port(), env)
    with ss.running(spec, ctx.data / "windlass") as server:
        log(
            f"windlass serve {uri} on {server.url} (ready in "
            f"{server.seconds_to_healthy:.2f} s; batching, metrics, prediction log on)"
        )
        ctx.check(spec, out)
        out["load"] = ctx.load(spec, ctx.sizes.clients)
        out["batching_before"] = _batch_stats(spec.port)
        out["load_batch_clients"] = ctx.load(spec, ctx.sizes.batch_clients)
        out["batching_after"] = _batch_stats(spec.port)
        out["sequential_one_worker"] = ctx.sequential(spec)
        _served(server, out)
        before, after = out["batching_before"], out["batching_after"]
        if after["batches"] > before["batches"]:
            mean = (after["requests"] - before["requests"]) / (after["batches"] - before["batches"])
            log(
                f"  {ctx.sizes.batch_clients} clients: {mean:.1f} requests per predict call "
                "on average"
            )


def _batch_stats(port: int) -> dict[str, float]:
    """Return the batch-size histogram's sum and count from windlass's ``/metrics``."""
    import urllib.request

    with urllib.request.urlopen(f"http://{servers.HOST}:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    stats = {"requests": 0.0, "batches": 0.0}
    for line in text.splitlines():
        if line.startswith("windlass_batch_size_sum"):
            stats["requests"] += float(line.rsplit(" ", 1)[1])
        elif line.startswith("windlass_batch_size_count"):
            stats["batches"] += float(line.rsplit(" ", 1)[1])
    return stats


def windlass_workers_phase(
    ctx: Context, out: dict[str, Any], env: dict[str, str], uri: str
) -> None:
    """Measure ``windlass serve --workers 2``: sequential keep-alive latency."""
    spec = ss.windlass(uri, servers.free_port(), env, workers=2)
    with ss.running(spec, ctx.data / "windlass-w2") as server:
        log(
            f"windlass serve --workers 2 on {server.url} (ready in "
            f"{server.seconds_to_healthy:.2f} s)"
        )
        ctx.check(spec, out)
        out["sequential"] = ctx.sequential(spec)
        _served(server, out)


def windlass_nolog_phase(ctx: Context, out: dict[str, Any], env: dict[str, str], uri: str) -> None:
    """Measure ``windlass serve --no-log-predictions`` at 16 clients: the log's own cost."""
    spec = ss.windlass(uri, servers.free_port(), env, log_predictions=False)
    with ss.running(spec, ctx.data / "windlass-nolog") as server:
        log(
            f"windlass serve --no-log-predictions on {server.url} (the prediction log's "
            "cost: compare with the default server above)"
        )
        ctx.check(spec, out)
        out["load"] = ctx.load(spec, ctx.sizes.clients)
        _served(server, out)


def bentoml_phase(ctx: Context, out: dict[str, Any]) -> None:
    """Measure ``bentoml serve`` of the same model: 16 clients."""
    env = ss.bentoml_env(ctx.data / "bentoml-home", ctx.work["model_path"])
    spec = ss.bentoml(servers.free_port(), env)
    with ss.running(spec, ctx.data / "bentoml") as server:
        log(f"bentoml serve on {server.url} (ready in {server.seconds_to_healthy:.2f} s)")
        ctx.check(spec, out)
        out["load"] = ctx.load(spec, ctx.sizes.clients)
        _served(server, out)


def mlflow_phase(ctx: Context, out: dict[str, Any]) -> None:
    """Measure ``mlflow models serve``: 16 clients, sequential (default workers and 2)."""
    model_dir = ctx.data / "mlflow-model"
    if not model_dir.exists():
        _save_mlflow_model(ctx.work["model_path"], ctx.data / "known.json", model_dir)
    spec = ss.mlflow(model_dir, servers.free_port())
    with ss.running(spec, ctx.data / "mlflow") as server:
        log(f"mlflow models serve on {server.url} (ready in {server.seconds_to_healthy:.2f} s)")
        ctx.check(spec, out)
        out["load"] = ctx.load(spec, ctx.sizes.clients)
        out["sequential_default_workers"] = ctx.sequential(spec)
        _served(server, out)
    spec = ss.mlflow(model_dir, servers.free_port(), workers=2)
    with ss.running(spec, ctx.data / "mlflow-w2") as server:
        log(
            f"mlflow models serve --workers 2 on {server.url} (ready in "
            f"{server.seconds_to_healthy:.2f} s)"
        )
        ctx.check(spec, out)
        out["sequential_workers_2"] = ctx.sequential(spec)
        out["server_workers_2"] = {
            "seconds_to_ready": server.seconds_to_healthy,
            "processes": server.memory().processes,
        }


_SAVE_MLFLOW = """
import json, sys, joblib, pandas as pd, sklearn, mlflow.sklearn
from mlflow.models import infer_signature
model = joblib.load(sys.argv[1])
known = json.load(open(sys.argv[2]))
x = pd.DataFrame([k["record"] for k in known["known"]], columns=known["features"])
mlflow.sklearn.save_model(model, sys.argv[3], signature=infer_signature(x, model.predict(x)),
                          pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
"""


def _save_mlflow_model(model_path: Path, known: Path, target: Path) -> None:
    done = subprocess.run(
        [
            str(servers.MLFLOW_VENV / "bin" / "python"),
            "-c",
            _SAVE_MLFLOW,
            str(model_path),
            str(known),
            str(target),
        ],
        env=servers.peer_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mlflow.sklearn.save_model failed:\n{done.stderr[-3000:]}")


def register_windlass(model: Any, frame: Any) -> str:
    """Log and register the model with windlass (its temporary home); return its URI."""
    import windlass

    windlass.set_project(PROJECT)
    with windlass.start_run():
        info = windlass.log_model(
            model, name="model", input_example=frame[:3], registered_model_name=MODEL_NAME
        )
    return f"models:/{MODEL_NAME}/{info.version}"


def _version_of(python: Path, package: str) -> str | None:
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout.strip() or None


def _versions() -> dict[str, Any]:
    """Return the tools' versions and windlass's git state."""
    import importlib.metadata

    def out(cmd: list[str]) -> str:
        done = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=60, cwd=servers.ROOT
        )
        return (done.stdout + done.stderr).strip()

    dirty = out(["git", "status", "--porcelain", "--untracked-files=no", "--", "src"])
    wrk = out(["wrk", "-v"]).split("\n")[0] if load.wrk_path() else None
    return {
        "windlass": importlib.metadata.version("windlass"),
        "windlass_commit": out(["git", "rev-parse", "--short", "HEAD"]) or "unknown",
        "windlass_src_modified": bool(dirty),
        "scikit-learn": importlib.metadata.version("scikit-learn"),
        "uvicorn": importlib.metadata.version("uvicorn"),
        "starlette": importlib.metadata.version("starlette"),
        "bentoml": _version_of(ss.BENTOML_VENV / "bin" / "python", "bentoml"),
        "bentoml_sklearn": _version_of(ss.BENTOML_VENV / "bin" / "python", "scikit-learn"),
        "mlflow": _version_of(servers.MLFLOW_VENV / "bin" / "python", "mlflow"),
        "mlflow_sklearn": _version_of(servers.MLFLOW_VENV / "bin" / "python", "scikit-learn"),
        "wrk": wrk,
    }


def _skip_reason(tool: str, versions: dict[str, Any]) -> str | None:
    """Return why a peer cannot run here, or None when it can."""
    version, sk = versions.get(tool), versions.get(f"{tool}_sklearn")
    venv = ss.BENTOML_VENV if tool == "bentoml" else servers.MLFLOW_VENV
    if version is None:
        return f"{venv} has no {tool}: run bench/setup_peers.sh"
    if sk != versions["scikit-learn"]:
        return (
            f"{venv} has scikit-learn {sk}, windlass's venv {versions['scikit-learn']}: "
            "the model file needs the same version (run bench/setup_peers.sh)"
        )
    return None


def main() -> int:
    """Run every phase, print the table and the targets, write the JSON; 1 if a check fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per figure: a smoke run")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds per load figure (default 20, --quick 5)",
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated phases to leave out: bare, windlass, "
        "windlass-nolog, windlass-w2, bentoml, mlflow",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON output (default .bench/results-serving[-quick].json)",
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    sizes = sizes_for(args.quick, args.duration)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    out_path = args.out or servers.ROOT / ".bench" / (
        "results-serving-quick.json" if args.quick else "results-serving.json"
    )
    if load.wrk_path() is None:
        log("wrk is missing: apt-get install -y wrk (the load generator of this benchmark)")
        return 2

    data = Path(tempfile.mkdtemp(prefix="windlass-bench-serving-"))
    os.environ["WINDLASS_HOME"] = str(data / "home")
    os.environ["WINDLASS_PROJECT"] = PROJECT
    started = time.monotonic()
    load_before = _load()
    versions = _versions()
    raw: dict[str, Any] = {}
    skipped: dict[str, str] = {f"{s} (--skip)": "left out with --skip" for s in skip}
    try:
        source = snapshot_source(data)
        import windlass

        if not Path(windlass.__file__).is_relative_to(source):
            log(f"windlass imports from {windlass.__file__}, not from the snapshot {source}")
            return 2
        work = serving_model.write(data)
        uri = register_windlass(work["model"], work["frame"])
        ctx = Context(sizes, data, work)
        env = dict(os.environ)
        log(
            f"serving benchmark ({'quick' if args.quick else 'full'}: {sizes.seconds:g} s per "
            f"figure), data in {data}"
        )
        log(
            f"windlass {versions['windlass']} at {versions['windlass_commit']} (src modified: "
            f"{versions['windlass_src_modified']}; served from a copy), bentoml "
            f"{versions['bentoml']}, mlflow {versions['mlflow']}, scikit-learn "
            f"{versions['scikit-learn']}, {versions['wrk']}; {os.cpu_count()} CPUs, "
            f"load {load_before}"
        )
        _phase(raw, "loadgen", lambda o: loadgen_phase(ctx, o))
        if "bare" not in skip:
            _phase(raw, "bare", lambda o: bare_phase(ctx, o))
        if "windlass" not in skip:
            _phase(raw, "windlass", lambda o: windlass_phase(ctx, o, env, uri))
        if "windlass-nolog" not in skip:
            _phase(raw, "windlass_nolog", lambda o: windlass_nolog_phase(ctx, o, env, uri))
        if "windlass-w2" not in skip:
            _phase(raw, "windlass_w2", lambda o: windlass_workers_phase(ctx, o, env, uri))
        for tool, body in (("bentoml", bentoml_phase), ("mlflow", mlflow_phase)):
            reason = _skip_reason(tool, versions)
            if tool in skip:
                continue
            if reason is not None:
                skipped[tool] = reason
                log(f"{tool}: SKIPPED: {reason}")
                continue
            _phase(raw, tool, lambda o, body=body: body(ctx, o))  # type: ignore[misc]
    finally:
        if not args.keep_data:
            shutil.rmtree(data, ignore_errors=True)

    figures, targets = report.figures(raw), report.targets(raw)
    problems = report.problems(raw)
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "sizes": asdict(sizes),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_before": load_before,
            "load_after": _load(),
        },
        "versions": versions,
        "skipped": skipped,
        "total_seconds": time.monotonic() - started,
        "problems": problems,
    }
    report.write_json(out_path, meta, raw, figures, targets)
    log("\n" + report.table(figures, versions))
    log("\n" + report.targets_table(targets))
    with_log = report.get(raw, "windlass", "load")
    without_log = report.get(raw, "windlass_nolog", "load")
    if with_log and without_log:
        log(
            f"\nprediction log cost at {sizes.clients} clients: {with_log['rps']:,.0f} req/s "
            f"with it, {without_log['rps']:,.0f} without "
            f"({100 * (1 - with_log['rps'] / without_log['rps']):+.1f}% throughput); p50 "
            f"{with_log['p50_ms']:.2f} vs {without_log['p50_ms']:.2f} ms, p99 "
            f"{with_log['p99_ms']:.2f} vs {without_log['p99_ms']:.2f} ms"
        )
    ceiling = report.get(raw, "loadgen", "wrk", "rps")
    if ceiling is not None:
        log(
            f"\nload generator ceiling (wrk -t1 -c{sizes.clients}, fixed answers): "
            f"{ceiling:,.0f} req/s"
        )
    for name, reason in skipped.items():
        log(f"skipped {name}: {reason}")
    if args.quick:
        log("(quick sizes: the targets are the issue's for 20 s runs)")
    log(f"\ntotal {meta['total_seconds']:.0f} s; results in {out_path}")
    for problem in problems:
        log(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
