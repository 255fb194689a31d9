"""A deployment's traffic over time, per variant, read from its prediction log.

The prediction log (:mod:`windlass.serving.predlog`) holds every answered request a model
server sampled, as Parquet under ``<root>/<name>/predictions/date=YYYY-MM-DD/``. This
module reads the days of a time window (only those folders) and counts, per variant and
per time bucket, the requests and their mean and 95th-percentile latency. Bounded: at
most :data:`MAX_BUCKETS` buckets and :data:`MAX_ROWS` rows are read; a larger log is cut
at the newest rows and says so (``truncated``). Failed requests are not in the log (it
keeps answered ones), so errors are the model server's Prometheus counter, not this.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from windlass.exceptions import InvalidInput

#: Most buckets a series has, and most log rows one call reads.
MAX_BUCKETS = 2000
MAX_ROWS = 2_000_000
_COLUMNS = ["timestamp_ms", "variant", "latency_ms", "shadow"]


@dataclass(frozen=True)
class VariantTraffic:
    """One variant's series: requests, mean and p95 latency (ms) per bucket (None: no request)."""

    variant: str
    shadow: bool
    requests: list[int]
    mean_latency_ms: list[float | None]
    p95_latency_ms: list[float | None]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "variant": self.variant,
            "shadow": self.shadow,
            "requests": self.requests,
            "mean_latency_ms": self.mean_latency_ms,
            "p95_latency_ms": self.p95_latency_ms,
        }


@dataclass(frozen=True)
class Traffic:
    """A deployment's traffic: bucket start times (UTC ms), bucket width, variants' series."""

    name: str
    start_ms: int
    end_ms: int
    bucket_ms: int
    times: list[int]
    variants: list[VariantTraffic] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "name": self.name,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "bucket_ms": self.bucket_ms,
            "times": self.times,
            "variants": [v.to_dict() for v in self.variants],
            "truncated": self.truncated,
        }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def read_traffic(name: str, *, root: str, start_ms: int, end_ms: int, bucket_ms: int) -> Traffic:
    """Return the traffic of served name ``name`` between two times, in ``bucket_ms`` buckets."""
    if end_ms <= start_ms or bucket_ms <= 0:
        raise InvalidInput("the traffic window must end after it starts, with buckets > 0")
    buckets = math.ceil((end_ms - start_ms) / bucket_ms)
    if buckets > MAX_BUCKETS:
        raise InvalidInput(
            f"{buckets} buckets asked; at most {MAX_BUCKETS}: widen the bucket",
            buckets=buckets,
        )
    rows, truncated = _rows(name, root, start_ms, end_ms)
    latencies: dict[tuple[str, bool], list[list[float]]] = defaultdict(
        lambda: [[] for _ in range(buckets)]
    )
    for at, variant, latency, shadow in rows:
        index = (at - start_ms) // bucket_ms
        latencies[(variant, shadow)][index].append(latency)
    series = [
        VariantTraffic(
            variant,
            shadow,
            [len(b) for b in per_bucket],
            [sum(b) / len(b) if b else None for b in per_bucket],
            [_p95(b) if b else None for b in per_bucket],
        )
        for (variant, shadow), per_bucket in sorted(latencies.items())
    ]
    times = [start_ms + i * bucket_ms for i in range(buckets)]
    return Traffic(name, start_ms, end_ms, bucket_ms, times, series, truncated)


def _rows(
    name: str, root: str, start_ms: int, end_ms: int
) -> tuple[list[tuple[int, str, float, bool]], bool]:
    """Return the log rows in the window (newest ``MAX_ROWS``), and whether some were cut."""
    from windlass.artifacts import open_storage
    from windlass.artifacts.paths import clean_artifact_path
    from windlass.extras import require

    pq = require("pyarrow.parquet", extra="ml", feature="deployment traffic charts")
    storage = open_storage(root)
    base = f"{clean_artifact_path(name)}/predictions"
    first = datetime.fromtimestamp(start_ms / 1000, UTC).date()
    last = datetime.fromtimestamp(end_ms / 1000, UTC).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    found: list[tuple[int, str, float, bool]] = []
    for day in reversed(days):
        for key in sorted(storage.list_keys(f"{base}/date={day.isoformat()}"), reverse=True):
            if not key.endswith(".parquet"):
                continue
            with storage.open_read(key) as handle:
                table = pq.read_table(io.BytesIO(handle.read()), columns=_COLUMNS)
            columns = [table.column(c).to_pylist() for c in _COLUMNS]
            found.extend(
                (int(at), str(variant), float(latency), bool(shadow))
                for at, variant, latency, shadow in zip(*columns, strict=True)
                if start_ms <= at < end_ms
            )
            if len(found) >= MAX_ROWS:
                found.sort(reverse=True)
                return found[:MAX_ROWS], True
    return found, False
