"""UI benchmark: the runs page of 10,000 runs (20 params, 10 metrics each) in Chromium.

Run it with windlass's virtualenv (``.venv/bin/python bench/bench_ui.py [--quick]``); it
needs Debian's Chromium (``/usr/bin/chromium``) and the ``playwright`` package (dev extra).
It fills a SQLite store in a temporary folder through the SDK, serves the UI on a loopback
port and measures, in a fresh browser context each time:

- the runs page's first contentful paint and the time until its table shows runs;
- a filter change (type a metric filter, press Enter) until the filtered table shows.

MLflow's UI for the same runs, side by side as a ratio, is not measured yet (issue 14).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

import windlass
from windlass.server.app import create_app
from windlass.tracking.backend import open_tracking

CHROMIUM = "/usr/bin/chromium"
PARAMS, METRICS = 20, 10


def fill(store: str, artifacts: str, runs: int) -> float:
    """Log ``runs`` runs of PARAMS params and METRICS metrics; return the seconds it took."""
    rng = random.Random(14)
    started = time.perf_counter()
    with windlass.Client(store, project="bench", artifact_uri=artifacts) as client:
        for index in range(runs):
            with client.runs.start(name=f"run-{index:05d}"):
                client.runs.log_params({f"p{k}": f"v{rng.randrange(10)}" for k in range(PARAMS)})
                for k in range(METRICS):
                    client.runs.log_metric(f"m{k}", rng.random(), step=0)
    return time.perf_counter() - started


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


def measure(url: str, repeat: int, home: str) -> dict[str, list[float]]:
    """Return first paint, table shown and filter change times (ms) over ``repeat`` tries."""
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {"fcp_ms": [], "table_ms": [], "filter_ms": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu"],
            env={"HOME": home, "PATH": os.environ.get("PATH", "")},
        )
        for _ in range(repeat):
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            started = time.perf_counter()
            page.goto(f"{url}/projects/bench/runs")
            page.locator("table.runs tbody tr a.row-link").first.wait_for()
            figures["table_ms"].append((time.perf_counter() - started) * 1000)
            fcp = page.evaluate(
                "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"
            )
            if fcp is not None:
                figures["fcp_ms"].append(float(fcp))
            page.fill("#filter", "metrics.m0 < 0.25 and params.p1 = 'v3'")
            started = time.perf_counter()
            page.keyboard.press("Enter")
            # The filtered table: the page swaps it in (or loads it whole without JS).
            page.wait_for_url(re.compile(r"filter="), wait_until="commit")
            page.locator("main:not([aria-busy]) input#filter[value^='metrics.m0']").wait_for()
            figures["filter_ms"].append((time.perf_counter() - started) * 1000)
            context.close()
        browser.close()
    return figures


def main() -> int:
    """Fill, serve, measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 runs, 2 tries")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    runs = args.runs or (1_000 if args.quick else 10_000)
    repeat = 2 if args.quick else 5
    if not Path(CHROMIUM).exists():
        print("bench_ui: /usr/bin/chromium is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="windlass-bench-ui-") as tmp:
        store = f"sqlite:///{tmp}/ui.db"
        seconds = fill(store, f"{tmp}/artifacts", runs)
        print(f"filled {runs} runs x {PARAMS} params x {METRICS} metrics in {seconds:.1f} s")
        app = create_app(open_tracking(store, f"{tmp}/artifacts"), auth=False)
        with served(app) as url:
            figures = measure(url, repeat, tmp)
    for name, values in figures.items():
        if values:
            print(f"{name:>10}: median {statistics.median(values):7.1f}  min {min(values):7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
