"""UI benchmark: a trace of 5,000 spans, until its waterfall is interactive in Chromium.

Run it with windlass's virtualenv (``.venv/bin/python bench/bench_ui_traces.py [--quick]``);
it needs Debian's Chromium (``/usr/bin/chromium``) and the ``playwright`` package (dev
extra). It ingests one trace (a root, 50 agents, LLM and tool calls under them, each with
attributes) into a SQLite store in a temporary folder through the tracing domain, serves
the UI on a loopback port and measures, in a fresh browser context each time:

- ``interactive_ms``: from navigation start until ``traces.js`` has drawn the waterfall and
  bound its handlers (it records ``performance.now()`` then; issue 14 asks for < 1.5 s);
- ``span_ms``: a click on a span until its attributes, loaded on demand from the REST
  API, are shown.

The figure is windlass's own; no peer is measured (issue 14 names none for it).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import windlass
from bench_ui import CHROMIUM, served
from windlass.entities import Span, SpanKind
from windlass.genai.tracing.service import TraceService
from windlass.server.app import create_app
from windlass.tracking.backend import open_tracking

MS = 1_000_000
T0 = 1_767_312_000_000_000_000
AGENTS = 50


def spans_of(trace_id: str, count: int) -> list[Span]:
    """Return a trace of ``count`` spans: a root, AGENTS agents, calls spread under them."""
    root = secrets.token_hex(8)
    made = [Span(trace_id, root, "pipeline", T0, T0 + count * 2 * MS, kind=SpanKind.CHAIN)]
    agents = [secrets.token_hex(8) for _ in range(AGENTS)]
    for i, agent in enumerate(agents):
        start = T0 + i * 40 * MS
        made.append(
            Span(trace_id, agent, f"agent {i}", start, start + 38 * MS, root, SpanKind.AGENT)
        )
    for i in range(count - len(made)):
        kind = SpanKind.LLM if i % 3 else SpanKind.TOOL
        start = T0 + (i % AGENTS) * 40 * MS + (i // AGENTS) * 300_000
        made.append(
            Span(
                trace_id,
                secrets.token_hex(8),
                f"{kind} call {i}",
                start,
                start + 250_000,
                agents[i % AGENTS],
                kind,
                attributes={"i": i, "note": "x" * 200},
                input='[{"role": "user", "content": "question"}]',
                output='[{"role": "assistant", "content": "answer"}]',
                model="gpt-4o" if kind is SpanKind.LLM else None,
                input_tokens=10,
                output_tokens=5,
                cost=0.0001,
            )
        )
    return made


def measure(url: str, repeat: int, home: str) -> dict[str, list[float]]:
    """Return the interactive and span-detail times (ms) over ``repeat`` fresh loads."""
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {"interactive_ms": [], "span_ms": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu"],
            env={"HOME": home, "PATH": os.environ.get("PATH", "")},
        )
        for _ in range(repeat):
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.goto(url)
            page.locator("html[data-trace-ready]").wait_for()
            figures["interactive_ms"].append(float(page.evaluate("window.__waterfallReady")))
            started = time.perf_counter()
            page.locator(".wf-row.kind-llm").first.click()
            page.locator("[data-span-detail] .span-attrs").first.wait_for()
            figures["span_ms"].append((time.perf_counter() - started) * 1000)
            context.close()
        browser.close()
    return figures


def main() -> int:
    """Ingest, serve, measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 loads instead of 7")
    parser.add_argument("--spans", type=int, default=5000)
    args = parser.parse_args()
    repeat = 2 if args.quick else 7
    if not Path(CHROMIUM).exists():
        print("bench_ui_traces: /usr/bin/chromium is missing", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="windlass-bench-ui-traces-") as tmp:
        store = f"sqlite:///{tmp}/ui.db"
        with windlass.Client(store, project="bench", artifact_uri=f"{tmp}/a") as client:
            trace_id = secrets.token_hex(16)
            service = TraceService(client.tracking.store)
            started = time.perf_counter()
            service.ingest(spans_of(trace_id, args.spans), project="bench")
            print(
                f"ingested 1 trace of {args.spans} spans in {time.perf_counter() - started:.1f} s"
            )
        app = create_app(open_tracking(store, f"{tmp}/a"), auth=False)
        with served(app) as url:
            figures = measure(f"{url}/projects/bench/traces/{trace_id}", repeat, tmp)
    for name, values in figures.items():
        print(f"{name:>15}: median {statistics.median(values):7.1f}  min {min(values):7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
