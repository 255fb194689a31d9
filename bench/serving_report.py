"""The serving benchmark's table, targets, correctness problems and JSON file.

One row per figure with windlass's value, each peer's, and how many times better windlass
did against each (its rate divided by theirs, or their latency divided by its own).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from report import fmt

PEERS = ("bare", "bentoml", "mlflow")


def get(raw: dict[str, Any], *path: str) -> Any:
    """Return ``raw[path[0]][path[1]]…``, or None where the path is missing."""
    node: Any = raw
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


@dataclass(frozen=True)
class Row:
    """A figure: windlass's value and each peer's (None: not measured for it)."""

    name: str
    unit: str
    higher_is_better: bool | None  # None: no ratio (counts)
    windlass: float | None
    peers: dict[str, float | None]

    def ratio(self, peer: str) -> float | None:
        """Return how many times better windlass did than ``peer``."""
        other = self.peers.get(peer)
        if self.higher_is_better is None or not self.windlass or not other:
            return None
        return self.windlass / other if self.higher_is_better else other / self.windlass


@dataclass(frozen=True)
class Target:
    """An issue target for windlass: the bound, the measured value, whether it passed."""

    name: str
    bound: str
    value: float | None
    unit: str
    passed: bool


def figures(raw: dict[str, Any]) -> list[Row]:
    """Return the table's rows from the raw measurements."""

    def each(*path: str) -> dict[str, float | None]:
        return {p: get(raw, p, *path) for p in PEERS}

    def load_row(name: str, key: str, unit: str, better: bool | None, load: str = "load") -> Row:
        return Row(name, unit, better, get(raw, "windlass", load, key), each(load, key))

    return [
        load_row("throughput, 16 clients, single-row", "rps", "req/s", True),
        load_row("p50 latency, 16 clients", "p50_ms", "ms", False),
        load_row("p99 latency, 16 clients", "p99_ms", "ms", False),
        load_row("errors (non-2xx + socket), 16 clients", "errors", "", None),
        load_row(
            "throughput, 64 clients, single-row (windlass batching)",
            "rps",
            "req/s",
            True,
            "load_batch_clients",
        ),
        load_row("p99 latency, 64 clients", "p99_ms", "ms", False, "load_batch_clients"),
        Row(
            "windlass 64 clients vs the bare app's 16-client throughput",
            "req/s",
            True,
            get(raw, "windlass", "load_batch_clients", "rps"),
            {"bare": get(raw, "bare", "load", "rps")},
        ),
        Row(
            "sequential keep-alive p50, --workers 2",
            "ms",
            False,
            get(raw, "windlass_w2", "sequential", "p50_ms"),
            {"mlflow": get(raw, "mlflow", "sequential_workers_2", "p50_ms")},
        ),
        Row(
            "sequential keep-alive p99, --workers 2",
            "ms",
            False,
            get(raw, "windlass_w2", "sequential", "p99_ms"),
            {"mlflow": get(raw, "mlflow", "sequential_workers_2", "p99_ms")},
        ),
        Row(
            "sequential keep-alive p50, default workers (1)",
            "ms",
            False,
            get(raw, "windlass", "sequential_one_worker", "p50_ms"),
            {"mlflow": get(raw, "mlflow", "sequential_default_workers", "p50_ms")},
        ),
        Row(
            "server RSS after load, process tree",
            "MB",
            False,
            get(raw, "windlass", "server", "rss_mb"),
            each("server", "rss_mb"),
        ),
        Row(
            "server start to ready",
            "s",
            False,
            get(raw, "windlass", "server", "seconds_to_ready"),
            each("server", "seconds_to_ready"),
        ),
    ]


def targets(raw: dict[str, Any]) -> list[Target]:
    """Return the issue's targets for windlass, checked against what was measured."""
    w_rps = get(raw, "windlass", "load", "rps")
    bare_rps = get(raw, "bare", "load", "rps")
    share = None if not (w_rps and bare_rps) else 100 * w_rps / bare_rps
    p99 = get(raw, "windlass", "load", "p99_ms")
    batch_rps = get(raw, "windlass", "load_batch_clients", "rps")
    times = None if not (batch_rps and bare_rps) else batch_rps / bare_rps
    seq = get(raw, "windlass_w2", "sequential", "p50_ms")

    def ok(value: float | None, test: Any) -> bool:
        return value is not None and bool(test(value))

    return [
        Target(
            "throughput at 16 clients, share of the bare app's",
            ">= 80 %",
            share,
            "%",
            ok(share, lambda v: v >= 80),
        ),
        Target("p99 latency at 16 clients", "< 20 ms", p99, "ms", ok(p99, lambda v: v < 20)),
        Target(
            "throughput with batching at 64 clients, times the bare app's single-row (16 clients)",
            ">= 2x",
            times,
            "x",
            ok(times, lambda v: v >= 2),
        ),
        Target(
            "sequential keep-alive p50 with --workers 2",
            "< 2 ms",
            seq,
            "ms",
            ok(seq, lambda v: v < 2),
        ),
    ]


def problems(raw: dict[str, Any]) -> list[str]:
    """Return correctness failures: phase errors, wrong answers, non-2xx or socket errors."""
    found = [
        f"{phase}: {node['error']}"
        for phase, node in raw.items()
        if isinstance(node, dict) and "error" in node
    ]
    for phase, node in raw.items():
        if not isinstance(node, dict):
            continue
        if get(node, "check", "ok") is False:
            found.append(f"{phase}: wrong predictions for the known rows")
        for key, value in node.items():
            if not isinstance(value, dict):
                continue
            if value.get("errors"):
                found.append(
                    f"{phase} {key}: {value['non_2xx']} non-2xx answers and "
                    f"{value['socket_errors']} socket errors"
                )
            if value.get("non_200"):
                found.append(f"{phase} {key}: {value['non_200']} non-200 answers")
    return found


_LABELS = {"bare": "bare app (floor)", "bentoml": "BentoML", "mlflow": "MLflow"}


def _value(value: float | None, unit: str) -> str:
    if value is not None and not unit:  # a count
        return f"{int(value):,}"
    return fmt(value, unit)


def table(rows: list[Row], versions: dict[str, Any]) -> str:
    """Return the figures as a Markdown table: values, then windlass's ratio to each peer."""
    labels = dict(_LABELS)
    for tool in ("bentoml", "mlflow"):
        if versions.get(tool):
            labels[tool] += f" {versions[tool]}"
    head = (
        ["figure", "windlass"]
        + [labels[p] for p in PEERS]
        + [f"x vs {_LABELS[p].split(' ')[0]}" for p in PEERS]
    )
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for row in rows:
        cells = [row.name, _value(row.windlass, row.unit)]
        cells += [_value(row.peers[p], row.unit) if p in row.peers else "" for p in PEERS]
        for p in PEERS:
            r = row.ratio(p)
            cells.append("" if r is None else (f"{r:.2f}x" if r < 10 else f"{r:,.1f}x"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets_table(found: list[Target]) -> str:
    """Return the issue's targets for windlass with PASS / MISS."""
    lines = ["| target (windlass) | bound | measured | |", "|---|---|---:|---|"]
    for t in found:
        lines.append(
            f"| {t.name} | {t.bound} | {fmt(t.value, t.unit)} | {'PASS' if t.passed else 'MISS'} |"
        )
    return "\n".join(lines)


def write_json(
    path: Path, meta: dict[str, Any], raw: dict[str, Any], rows: list[Row], found: list[Target]
) -> None:
    """Write everything measured to ``path`` as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        **meta,
        "figures": [{**asdict(r), "ratios": {p: r.ratio(p) for p in PEERS}} for r in rows],
        "targets": [asdict(t) for t in found],
        "raw": raw,
    }
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")
