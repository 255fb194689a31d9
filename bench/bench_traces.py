"""Trace ingest benchmark: windlass against Arize Phoenix, OTLP/HTTP from the OpenTelemetry SDK.

Run it with windlass's virtualenv (``make bench-traces``, or ``.venv/bin/python
bench/bench_traces.py [--quick] [--traces N] [--repeats 3] [--skip phoenix]``) after
``bench/setup_peers.sh`` has put Phoenix in ``.bench/phoenix-venv``.

The workload is the issue's: 2,000 agent traces of 5 spans each (agent → llm, retriever
with 3 documents, tool, llm) with OpenInference attributes, made by the real OpenTelemetry
SDK (``TracerProvider`` + ``BatchSpanProcessor`` + ``OTLPSpanExporter``, protobuf over HTTP)
in a process of its own. Each run starts a fresh server over SQLite in a temporary folder,
bound to 127.0.0.1 (every listener of its process tree is checked with ``ss``; a server
listening anywhere else is refused), and measures: seconds from the first span to all
spans queryable through the server's own API; the lag after ``force_flush`` returns;
server CPU per span; server RSS after ingest. The table gives medians, Phoenix's figure and
the ratio; windlass runs again with auth on (``WINDLASS_AUTH=on``, an API token in the
exporter's headers and on every query), and its figures are set beside auth off's as a
share; the issues' targets get PASS or MISS; ``.bench/results-traces.json`` gets it all.
Exit 1 on a correctness failure (a span dropped, missing or counted twice), not on a MISS.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import servers
import traces_ingest as ingest
import traces_report as report
import traces_servers as ts
from bench_tracking import _load, log, snapshot_source
from traces_sender import SPANS_PER_TRACE

PROJECT = "bench-traces"


def _server(tool: str, data: Path) -> tuple[list[str], dict[str, str] | None, int, str]:
    """Return the command, environment, port and name of one fresh server."""
    port = servers.free_port()
    if tool == "windlass-auth":
        env = {**os.environ, "WINDLASS_AUTH": "on"}
        return servers.windlass_command(port, data), env, port, "windlass-auth"
    if tool == "phoenix":
        return (
            ts.phoenix_command(),
            ts.phoenix_env(data, port, servers.free_port()),
            port,
            "phoenix",
        )
    return servers.windlass_command(port, data), None, port, "windlass"


def tool_phase(
    tool: str,
    args: argparse.Namespace,
    attempts: range,
    data: Path,
    out: dict[str, Any],
    repeats: int,
) -> None:
    """Measure ``tool`` once per attempt (of ``repeats``), each on a fresh server and store."""
    out.setdefault("runs", [])
    for attempt in attempts:
        run_dir = data / f"{tool}-{attempt}"
        cmd, env, port, name = _server(tool, run_dir)
        token = None
        if tool == "windlass-auth":  # the first admin and its token, before the server starts
            import windlass_side as ws

            run_dir.mkdir(parents=True, exist_ok=True)
            token = ws.bootstrap_token(f"sqlite:///{run_dir / 'windlass.db'}")
        started = time.monotonic()
        try:
            with servers.running(name, cmd, run_dir, port, env) as server:
                counter: ts.SpanCounter
                if tool == "phoenix":
                    counter = ts.PhoenixCounter(server.url, PROJECT)
                elif token is not None:
                    counter = ts.WindlassAuthCounter(server.url, PROJECT, token)
                else:
                    counter = ts.WindlassCounter(server.url, PROJECT)
                try:
                    r = ingest.measure(
                        server,
                        counter,
                        args.traces,
                        run_dir,
                        poll_s=args.poll_ms / 1000,
                        max_poll_s=args.max_poll_s,
                        timeout_s=args.timeout,
                    )
                finally:
                    counter.close()
                r["seconds_to_healthy"] = server.seconds_to_healthy
        except ts.NotAvailable as exc:
            out["skipped"] = str(exc)
            log(f"{tool}: SKIPPED: {exc}")
            return
        except Exception as exc:  # record it; later repeats would fail the same way
            traceback.print_exc()
            out["runs"].append(
                {"error": f"{type(exc).__name__}: {exc}", "seconds": time.monotonic() - started}
            )
            log(f"{tool} run {attempt}/{repeats}: FAILED: {exc}")
            return
        out["runs"].append(r)
        _print_run(tool, attempt, repeats, r)


def _print_run(tool: str, attempt: int, repeats: int, r: dict[str, Any]) -> None:
    s = r["sender"]
    listening = ", ".join(f"{x['proto']} {x['address']}:{x['port']}" for x in r["listeners_before"])
    log(
        f"{tool} run {attempt}/{repeats} (healthy in {r['seconds_to_healthy']:.1f} s; "
        f"listening on {listening}):"
    )
    log(
        f"  sender: {s['spans_ended']:,} spans ended, {s['spans_exported']:,} accepted in "
        f"{s['requests']} requests ({s['spans_failed']} refused), made in "
        f"{r['sender_create_seconds']:.2f} s, force_flush returned at "
        f"{r['sender_seconds']:.2f} s"
    )
    state = (
        "all queryable"
        if r["complete"]
        else f"TIMED OUT with {r['spans_seen']:,} of {r['spans_expected']:,} queryable"
    )
    log(
        f"  {state} at {r['end_to_end_s']:.2f} s (lag {r['lag_s']:.2f} s; {r['polls']} x "
        f"{r['count_method']}, the last took {r['last_query_s']:.3f} s); "
        f"{r['verify']['spans']:,} spans found by "
        f"{r['verify']['method']}"
    )
    log(
        f"  server CPU {r['cpu_s']:.2f} s ({r['cpu_per_span_ms']:.3f} ms per span after "
        f"{r['polls']} x {1000 * r['cpu_per_poll_s']:.1f} ms of count queries; "
        f"{r['cpu_after_settle_s']:.2f} s counting {ingest.SETTLE_S:.0f} s more); RSS "
        f"{r['rss_mb']:.0f} MB over {r['processes']} process(es), peak {r['peak_rss_mb']:.0f} "
        f"MB, idle before {r['idle_rss_mb']:.0f} MB"
    )


def _versions() -> dict[str, Any]:
    """Return the tools' versions and windlass's git state."""

    def out(cmd: list[str]) -> str:
        done = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=60, cwd=servers.ROOT
        )
        return done.stdout.strip()

    dirty = out(["git", "status", "--porcelain", "--untracked-files=no", "--", "src"])
    return {
        "windlass": importlib.metadata.version("windlass"),
        "windlass_commit": out(["git", "rev-parse", "--short", "HEAD"]) or "unknown",
        "windlass_src_modified": bool(dirty),
        "phoenix": ts.phoenix_version(),
        "opentelemetry-sdk": importlib.metadata.version("opentelemetry-sdk"),
        "opentelemetry-exporter-otlp-proto-http": importlib.metadata.version(
            "opentelemetry-exporter-otlp-proto-http"
        ),
    }


def main() -> int:
    """Run both tools, print the table and the targets, write the JSON; 1 on a bad count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 traces: a smoke run")
    parser.add_argument(
        "--traces",
        type=int,
        default=None,
        help="traces per run, 5 spans each (default 2,000; --quick 200)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="windlass runs, auth off and auth on, each on a fresh server (median; default 3)",
    )
    parser.add_argument(
        "--phoenix-repeats",
        type=int,
        default=1,
        help="Phoenix runs (default 1: one takes about a minute)",
    )
    parser.add_argument("--skip", default="", help="comma-separated: phoenix, windlass")
    parser.add_argument(
        "--poll-ms",
        type=float,
        default=50.0,
        help="shortest interval between count queries (default 50 ms)",
    )
    parser.add_argument(
        "--max-poll-s",
        type=float,
        default=0.5,
        help="longest interval between count queries (default 0.5 s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds from the first span after which a run gives up",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON output (default .bench/results-traces[-quick].json)",
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    args.traces = args.traces or (200 if args.quick else 2_000)
    if args.traces < 1 or args.repeats < 1 or args.phoenix_repeats < 1:
        parser.error("--traces, --repeats and --phoenix-repeats must be at least 1")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if skip - set(report.TOOLS):
        parser.error(f"--skip takes {', '.join(report.TOOLS)}, not {', '.join(skip)}")
    out_path = args.out or servers.ROOT / ".bench" / (
        "results-traces-quick.json" if args.quick else "results-traces.json"
    )

    data = Path(tempfile.mkdtemp(prefix="windlass-bench-traces-"))
    os.environ["WINDLASS_HOME"] = str(data / "home")
    started = time.monotonic()
    load_before = _load()
    versions = _versions()
    raw: dict[str, Any] = {}
    skipped: dict[str, str] = {t: "left out with --skip" for t in sorted(skip)}
    repeats = {
        "windlass": args.repeats,
        "windlass-auth": args.repeats,
        "phoenix": args.phoenix_repeats,
    }
    spans = args.traces * SPANS_PER_TRACE
    try:
        snapshot_source(data)  # the windlass server imports this copy (PYTHONPATH)
        log(
            f"trace ingest benchmark: {args.traces:,} traces x {SPANS_PER_TRACE} spans = "
            f"{spans:,} spans per run, data in {data}"
        )
        log(
            f"windlass {versions['windlass']} at {versions['windlass_commit']} (src modified: "
            f"{versions['windlass_src_modified']}; served from a copy), Phoenix "
            f"{versions['phoenix']}, opentelemetry-sdk {versions['opentelemetry-sdk']}; "
            f"{os.cpu_count()} CPUs, load {load_before}"
        )
        why = (
            " (one Phoenix run takes about a minute; --phoenix-repeats N for a median)"
            if args.phoenix_repeats == 1
            else " (median)"
        )
        log(f"runs: windlass {args.repeats} (median), Phoenix {args.phoenix_repeats}{why}")
        if versions["phoenix"] is None and "phoenix" not in skip:
            skipped["phoenix"] = f"{ts.PHOENIX_VENV} has no arize-phoenix: run bench/setup_peers.sh"
            log(f"phoenix: SKIPPED: {skipped['phoenix']}")
            skip.add("phoenix")
        order = [t for t in report.TOOLS if t not in skip]
        for tool in order:
            raw[tool] = {}
        # windlass with auth off and on alternate run by run: a load that drifts while
        # the benchmark runs falls on both alike.
        for attempt in range(1, args.repeats + 1):
            for tool in (t for t in order if t.startswith("windlass")):
                failed = any("error" in r for r in raw[tool]["runs"]) if raw[tool] else False
                if "skipped" not in raw[tool] and not failed:
                    tool_phase(
                        tool, args, range(attempt, attempt + 1), data, raw[tool], args.repeats
                    )
        if "phoenix" in order:
            phoenix_runs = range(1, args.phoenix_repeats + 1)
            tool_phase("phoenix", args, phoenix_runs, data, raw["phoenix"], args.phoenix_repeats)
        for tool in order:
            if "skipped" in raw[tool]:
                skipped[tool] = raw[tool]["skipped"]
    finally:
        if not args.keep_data:
            shutil.rmtree(data, ignore_errors=True)

    rows = report.figures(raw, args.traces)
    auth = report.auth_rows(raw)
    found = [*report.targets(rows), *report.auth_targets(auth)]
    problems = report.problems(raw)
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "traces": args.traces,
        "spans": spans,
        "repeats": repeats,
        "poll": {"min_s": args.poll_ms / 1000, "max_s": args.max_poll_s},
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
    report.write_json(out_path, meta, raw, rows, found, auth)
    log("\n" + report.table(rows, versions))
    log("\n" + report.auth_table(auth))
    complete = {t: sum(1 for r in report.runs(raw, t) if r.get("complete")) for t in report.TOOLS}
    measured = [f"{t} over {n} complete run(s)" for t, n in complete.items() if n]
    if measured:
        log(f"(medians: {', '.join(measured)})")
    log("\n" + report.targets_table(found))
    for name, reason in skipped.items():
        log(f"skipped {name}: {reason}")
    if args.quick:
        log(f"(quick sizes: {args.traces} traces; the targets are the issue's for 2,000)")
    log(f"\ntotal {meta['total_seconds']:.0f} s; results in {out_path}")
    for problem in problems:
        log(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
