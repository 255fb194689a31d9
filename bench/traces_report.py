"""The trace benchmark's table, targets, correctness problems and JSON file.

Each figure is the median over a tool's complete runs. The ratio says how many times
better windlass did: Phoenix's time (CPU, memory) divided by windlass's, or windlass's
rate divided by Phoenix's. windlass also runs with auth on (an API token on every export
and query): its figures beside auth off's, as a share of auth off's, are the auth table.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from report import fmt
from traces_ingest import median_of
from traces_sender import SPANS_PER_TRACE

TOOLS = ("windlass", "windlass-auth", "phoenix")
#: Auth must not cost what it protects: ingest with auth on keeps more than this share.
AUTH_SHARE_BOUND = 90.0


@dataclass(frozen=True)
class Row:
    """One figure for both tools."""

    name: str
    unit: str
    higher_is_better: bool
    windlass: float | None
    phoenix: float | None

    @property
    def ratio(self) -> float | None:
        """Return how many times better windlass did (None when either is missing)."""
        if not self.windlass or not self.phoenix:
            return None
        return (
            self.windlass / self.phoenix if self.higher_is_better else self.phoenix / self.windlass
        )


@dataclass(frozen=True)
class AuthRow:
    """One windlass figure with auth off and on."""

    name: str
    unit: str
    higher_is_better: bool
    off: float | None
    on: float | None

    @property
    def share(self) -> float | None:
        """Return auth on's performance as a percentage of auth off's (100: no cost)."""
        if not self.off or not self.on:
            return None
        return 100 * (self.on / self.off if self.higher_is_better else self.off / self.on)


@dataclass(frozen=True)
class Target:
    """An issue target for windlass: the bound, the measured value, PASS / MISS / n/a."""

    name: str
    bound: str
    value: float | None
    unit: str
    status: str


def runs(raw: dict[str, Any], tool: str) -> list[dict[str, Any]]:
    """Return a tool's measured runs (empty when it was skipped or failed)."""
    node = raw.get(tool, {})
    return [r for r in node.get("runs", []) if isinstance(r, dict)]


def _median(raw: dict[str, Any], tool: str, key: str) -> float | None:
    return median_of(runs(raw, tool), key)


def figures(raw: dict[str, Any], traces: int) -> list[Row]:
    """Return the table's rows."""
    spans = traces * SPANS_PER_TRACE

    def row(name: str, key: str, unit: str, higher: bool = False) -> Row:
        return Row(name, unit, higher, _median(raw, "windlass", key), _median(raw, "phoenix", key))

    def started(tool: str) -> float | None:
        values = [r["seconds_to_healthy"] for r in runs(raw, tool) if "seconds_to_healthy" in r]
        return sorted(values)[len(values) // 2] if values else None

    return [
        row(
            f"end to end: {traces:,} traces ({spans:,} spans), first span sent to all queryable",
            "end_to_end_s",
            "s",
        ),
        row("throughput, end to end", "spans_per_s", "spans/s", higher=True),
        row("lag: force_flush returned to all queryable", "lag_s", "s"),
        row("sender alone: first span to force_flush returned", "sender_seconds", "s"),
        row(
            "server CPU per span during ingest (count queries subtracted)", "cpu_per_span_ms", "ms"
        ),
        row("server CPU per span, count queries included", "cpu_per_span_ms_with_polls", "ms"),
        row("server RSS after ingest, process tree", "rss_mb", "MB"),
        row("server peak RSS (sum of VmHWM over the tree)", "peak_rss_mb", "MB"),
        row("server idle RSS before sending", "idle_rss_mb", "MB"),
        Row("server spawn to healthy", "s", False, started("windlass"), started("phoenix")),
    ]


def auth_rows(raw: dict[str, Any]) -> list[AuthRow]:
    """Return windlass's ingest figures with auth off and on, side by side."""

    def row(name: str, key: str, unit: str, higher: bool = False) -> AuthRow:
        return AuthRow(
            name, unit, higher, _median(raw, "windlass", key), _median(raw, "windlass-auth", key)
        )

    return [
        row("throughput, end to end", "spans_per_s", "spans/s", higher=True),
        row("end to end, first span sent to all queryable", "end_to_end_s", "s"),
        row("server CPU per span during ingest", "cpu_per_span_ms", "ms"),
        row("lag: force_flush returned to all queryable", "lag_s", "s"),
    ]


def auth_targets(rows: list[AuthRow]) -> list[Target]:
    """Return the auth target: ingest throughput with auth on above 90% of auth off."""
    throughput = next(r for r in rows if r.name.startswith("throughput"))
    share = throughput.share
    status = "n/a" if share is None else ("PASS" if share > AUTH_SHARE_BOUND else "MISS")
    return [
        Target(
            "ingest throughput, auth on, share of auth off",
            f"> {AUTH_SHARE_BOUND:.0f}%",
            share,
            "%",
            status,
        )
    ]


def auth_table(rows: list[AuthRow]) -> str:
    """Return windlass's figures with auth off and on as a Markdown table."""
    lines = [
        "| figure (windlass) | auth off | auth on | auth on, share of off |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        share = "n/a" if r.share is None else f"{r.share:.1f}%"
        lines.append(f"| {r.name} | {fmt(r.off, r.unit)} | {fmt(r.on, r.unit)} | {share} |")
    return "\n".join(lines)


def targets(rows: list[Row]) -> list[Target]:
    """Return the issue's four targets for windlass."""

    def find(prefix: str) -> Row:
        return next(r for r in rows if r.name.startswith(prefix))

    e2e, lag = find("end to end"), find("lag")
    cpu, rss = find("server CPU per span during"), find("server RSS after")

    def status(value: float | None, ok: bool) -> str:
        return "n/a" if value is None else ("PASS" if ok else "MISS")

    return [
        Target(
            "end to end, times faster than Phoenix",
            ">= 10x",
            e2e.ratio,
            "x",
            status(e2e.ratio, (e2e.ratio or 0) >= 10),
        ),
        Target(
            "lag after force_flush",
            "< 2 s",
            lag.windlass,
            "s",
            status(lag.windlass, (lag.windlass or 0) < 2),
        ),
        Target(
            "server CPU per span, times less than Phoenix",
            ">= 25x",
            cpu.ratio,
            "x",
            status(cpu.ratio, (cpu.ratio or 0) >= 25),
        ),
        Target(
            "server RSS after ingest",
            "< 200 MB",
            rss.windlass,
            "MB",
            status(rss.windlass, (rss.windlass or 0) < 200),
        ),
    ]


def problems(raw: dict[str, Any]) -> list[str]:
    """Return correctness failures: errors, spans dropped, missing or counted twice."""
    found = []
    for tool in TOOLS:
        node = raw.get(tool, {})
        if "error" in node:
            found.append(f"{tool}: {node['error']}")
        for i, run in enumerate(node.get("runs", []), 1):
            where = f"{tool} run {i}"
            if "error" in run:
                found.append(f"{where}: {run['error']}")
                continue
            sender, expected = run.get("sender", {}), run["spans_expected"]
            if not sender.get("flush_ok") or sender.get("spans_failed"):
                found.append(
                    f"{where}: the exporter reported {sender.get('spans_failed')} "
                    f"spans not accepted (flush ok: {sender.get('flush_ok')})"
                )
            if sender.get("spans_exported") != expected or sender.get("spans_ended") != expected:
                found.append(
                    f"{where}: {sender.get('spans_ended')} spans ended, "
                    f"{sender.get('spans_exported')} exported, {expected} expected"
                )
            if run.get("timed_out"):
                found.append(f"{where}: {run['timed_out']}")
            if run.get("spans_seen", 0) > expected:
                found.append(f"{where}: {run['spans_seen']} spans counted, {expected} sent")
            verified = run.get("verify", {}).get("spans")
            if verified != expected:
                found.append(
                    f"{where}: {verified} spans found by "
                    f"{run.get('verify', {}).get('method')}, {expected} sent"
                )
    return found


def _ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "n/a"
    return (
        f"{ratio:,.0f}x" if ratio >= 100 else (f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x")
    )


def table(rows: list[Row], versions: dict[str, Any]) -> str:
    """Return the figures as a Markdown table with the ratio in windlass's favour."""
    phoenix = f"Phoenix {versions.get('phoenix') or ''}".strip()
    lines = [
        f"| figure | windlass | {phoenix} | ratio (x in windlass's favour) |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {fmt(r.windlass, r.unit)} | {fmt(r.phoenix, r.unit)} | "
            f"{_ratio_text(r.ratio)} |"
        )
    return "\n".join(lines)


def targets_table(found: list[Target]) -> str:
    """Return the targets with PASS / MISS (n/a when a figure is missing)."""
    lines = ["| target (windlass) | bound | measured | |", "|---|---|---:|---|"]
    for t in found:
        if t.unit == "x":
            value = _ratio_text(t.value)
        elif t.unit == "%":
            value = "n/a" if t.value is None else f"{t.value:.1f}%"
        else:
            value = fmt(t.value, t.unit)
        lines.append(f"| {t.name} | {t.bound} | {value} | {t.status} |")
    return "\n".join(lines)


def write_json(
    path: Path,
    meta: dict[str, Any],
    raw: dict[str, Any],
    rows: list[Row],
    found: list[Target],
    auth: list[AuthRow],
) -> None:
    """Write everything measured to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        **meta,
        "figures": [{**asdict(r), "ratio": r.ratio} for r in rows],
        "auth": [{**asdict(r), "share_percent": r.share} for r in auth],
        "targets": [asdict(t) for t in found],
        "raw": raw,
    }
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")
