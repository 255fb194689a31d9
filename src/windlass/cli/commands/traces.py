"""``windlass traces``: list, show, summarize and export GenAI traces.

Commands: ls (a filtered page of traces), show (one trace as a tree with timings),
stats (count, error rate, latency percentiles, tokens and cost by model and day),
rollup (totals per session, user, day, model or prompt), export (spans to Parquet).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from windlass.cli.context import JSON_OPTION, PROJECT_OPTION, URI_OPTION, connect, trace_id_resolver
from windlass.cli.render import console, print_items, print_json, short_ids, table
from windlass.entities import Span, TraceStats

app = typer.Typer(
    help="GenAI traces: list, show as a tree, stats, roll-ups, Parquet export.",
    no_args_is_help=True,
)

FILTER_OPTION = typer.Option(
    None,
    "--filter",
    "-f",
    help="Filter, e.g. \"status = 'error' and cost > 0.01\" or \"session_id = 's-42'\".",
)
START_OPTION = typer.Option(
    None, "--start", help="Only traces starting at or after this ISO 8601 time."
)
END_OPTION = typer.Option(None, "--end", help="Only traces starting before this ISO 8601 time.")


def _connect(uri: str | None) -> None:
    connect(uri, must_exist=True)


def _ms(ns: int) -> str:
    return f"{ns / 1e6:,.1f} ms"


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="milliseconds")


def _cost(cost: float | None, complete: bool = True) -> str:
    """Show a cost: ``unpriced`` when model calls had no price, ``+`` when only some had."""
    if cost is None:
        return "-" if complete else "unpriced"
    return f"${cost:.6f}" + ("" if complete else "+")


@app.command("ls")
def list_traces(
    project: str | None = PROJECT_OPTION,
    filter: str | None = FILTER_OPTION,
    start: str | None = START_OPTION,
    end: str | None = END_OPTION,
    max_results: int = typer.Option(50, "--max-results", "-n"),
    page_token: str | None = typer.Option(None, "--page-token"),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List traces, newest first (cost ends in + when some model calls had no price)."""
    import windlass

    _connect(uri)
    page = windlass.search_traces(
        project, filter, start, end, max_results=max_results, page_token=page_token
    )
    if as_json:
        print_items(page.items, page.next_page_token)
        return
    ids = short_ids([t.trace_id for t in page.items], trace_id_resolver(uri, project))
    table(
        None,
        [
            "trace",
            "name",
            "start",
            "duration",
            "status",
            "spans",
            "tokens",
            "cost",
            "session",
            "models",
        ],
        [
            [
                ids[t.trace_id],
                t.name,
                _when(t.start_time_ns),
                _ms(t.duration_ns),
                str(t.status),
                t.span_count,
                t.input_tokens + t.output_tokens,
                _cost(t.cost, t.cost_complete),
                t.session_id or "",
                ", ".join(t.models),
            ]
            for t in page.items
        ],
        keep=("trace",),
    )
    if page.next_page_token:
        console.print(f"more: --page-token {page.next_page_token}", markup=False, highlight=False)


def _tree_lines(spans: list[Span]) -> list[str]:
    children: dict[str | None, list[Span]] = {}
    ids = {s.span_id for s in spans}
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    start = min((s.start_time_ns for s in spans), default=0)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time_ns):
            facts = [f"+{_ms(span.start_time_ns - start)}", _ms(span.duration_ns)]
            if span.model:
                facts.append(span.model)
            if span.input_tokens is not None or span.output_tokens is not None:
                facts.append(f"{span.input_tokens or 0}→{span.output_tokens or 0} tokens")
            if span.cost is not None:
                facts.append(_cost(span.cost))
            if str(span.status) == "error":
                facts.append(f"ERROR {span.status_message}".strip())
            lines.append(f"{'  ' * depth}{span.name} [{span.kind}] " + " · ".join(facts))
            walk(span.span_id, depth + 1)

    walk(None, 0)
    return lines


@app.command("show")
def show(
    trace_id: str = typer.Argument(
        ..., help="A trace id, or a unique prefix of it (as tables show it)."
    ),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one trace as a tree of spans with start offsets, durations, tokens and cost."""
    import windlass

    _connect(uri)
    spans = windlass.get_trace(trace_id_resolver(uri, project)(trace_id), project)
    if as_json:
        print_json({"spans": [s.to_dict() for s in spans]})
        return
    for line in _tree_lines(spans):
        console.print(line, markup=False, highlight=False)


def _lat(ms: float | None) -> str:
    return "-" if ms is None else f"{ms:,.1f} ms"


def _stats_text(stats: TraceStats) -> None:
    console.print(
        f"{stats.count} traces, {stats.error_count} errors ({100 * stats.error_rate:.1f}%), "
        f"latency p50 {_lat(stats.p50_ms)} · p95 {_lat(stats.p95_ms)} · "
        f"p99 {_lat(stats.p99_ms)}, {stats.input_tokens:,} input + "
        f"{stats.output_tokens:,} output tokens, "
        f"cost {_cost(stats.cost, not stats.unpriced_llm_spans)}"
        + (
            f" ({stats.unpriced_llm_spans} model calls without a price)"
            if stats.unpriced_llm_spans
            else ""
        ),
        markup=False,
        highlight=False,
    )
    for title, rows in (("by model", stats.by_model), ("by day", stats.by_day)):
        table(
            title,
            ["key", "traces", "spans", "calls", "input tokens", "output tokens", "cost"],
            [
                [
                    r.key,
                    r.traces,
                    r.spans,
                    r.llm_calls,
                    r.input_tokens,
                    r.output_tokens,
                    _cost(r.cost, not r.unpriced_llm_spans),
                ]
                for r in rows
            ],
        )


@app.command("stats")
def stats(
    project: str | None = PROJECT_OPTION,
    filter: str | None = FILTER_OPTION,
    start: str | None = START_OPTION,
    end: str | None = END_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Count, error rate, p50/p95/p99 latency, tokens and cost, by model and by day."""
    import windlass

    _connect(uri)
    result = windlass.trace_stats(project, filter, start, end)
    if as_json:
        print_json(result.to_dict())
    else:
        _stats_text(result)


@app.command("rollup")
def rollup(
    group_by: str = typer.Argument(..., help="session, user, day, model or prompt."),
    project: str | None = PROJECT_OPTION,
    filter: str | None = FILTER_OPTION,
    start: str | None = START_OPTION,
    end: str | None = END_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Tokens and cost per session, user, day, model or prompt version."""
    import windlass

    _connect(uri)
    rows = windlass.trace_rollup(group_by, project, filter, start, end)
    if as_json:
        print_items(rows)
        return
    table(
        None,
        [group_by, "traces", "spans", "calls", "input tokens", "output tokens", "cost"],
        [
            [
                r.key,
                r.traces,
                r.spans,
                r.llm_calls,
                r.input_tokens,
                r.output_tokens,
                _cost(r.cost, not r.unpriced_llm_spans),
            ]
            for r in rows
        ],
    )


@app.command("export")
def export(
    output: Path = typer.Option(..., "--output", "-o", help="Parquet file to write."),
    project: str | None = PROJECT_OPTION,
    start: str | None = START_OPTION,
    end: str | None = END_OPTION,
    uri: str | None = URI_OPTION,
) -> None:
    """Export spans to Parquet (attributes, resource and events as JSON text)."""
    import windlass

    _connect(uri)
    count = windlass.export_traces(output, project, start, end)
    console.print(f"wrote {count} spans to {output}", markup=False, highlight=False)
