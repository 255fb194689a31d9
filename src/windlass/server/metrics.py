"""Prometheus metrics of the tracking server: spans ingested, duplicates, OTLP requests, lag.

Served at ``GET /metrics`` of ``windlass server``:

- ``windlass_spans_ingested_total{project}``: spans stored (OTLP and REST ingest);
- ``windlass_spans_duplicate_total{project}``: spans refused because the project already
  held their ``(trace_id, span_id)`` (they are also reported back to the sender);
- ``windlass_spans_adjusted_total{project}``: spans stored with values clamped or truncated
  to the stored bounds (each lists what changed in its ``windlass.adjusted`` attribute);
- ``windlass_otlp_requests_total{status}``: ``POST /v1/traces`` requests by HTTP status;
- ``windlass_span_ingest_lag_seconds``: time from a request's body being read until its
  spans are committed, so queryable.

Each app has its own registry. With several worker processes (``windlass server
--workers N``) every worker counts on its own, and a scrape sees the figures of the one
worker that answered, unless ``PROMETHEUS_MULTIPROC_DIR`` names a folder (empty at start,
shared by the workers, set before they start): then every worker writes there and
``/metrics`` adds them up, as ``windlass serve`` does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

#: Buckets of the ingest lag, in seconds: a millisecond to a minute.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
               30.0, 60.0)


class TrackingServerMetrics:
    """The metrics one tracking server exposes at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.spans_ingested = Counter(
            "windlass_spans_ingested", "Spans stored, per project.", ["project"],
            registry=self.registry)
        self.spans_duplicate = Counter(
            "windlass_spans_duplicate",
            "Spans not stored because the project already held their trace and span id.",
            ["project"], registry=self.registry)
        self.spans_adjusted = Counter(
            "windlass_spans_adjusted",
            "Spans stored with values clamped or truncated to the stored bounds.",
            ["project"], registry=self.registry)
        self.otlp_requests = Counter(
            "windlass_otlp_requests", "OTLP/HTTP trace export requests, by HTTP status.",
            ["status"], registry=self.registry)
        self.ingest_lag = Histogram(
            "windlass_span_ingest_lag_seconds",
            "Time from a request's body being read until its spans are committed.",
            buckets=LAG_BUCKETS, registry=self.registry)

    def observe_ingest(self, accepted: Mapping[str, int], duplicates: Mapping[str, int],
                       since: float, adjusted: Mapping[str, int] | None = None) -> None:
        """Count spans stored, refused and adjusted per project, and the lag since ``since``.

        ``since`` is the :func:`time.monotonic` reading taken when the body was read; the
        lag is observed once per request that stored spans.
        """
        stored = False
        for project, count in accepted.items():
            if count:
                stored = True
                self.spans_ingested.labels(project).inc(count)
        for project, count in duplicates.items():
            if count:
                self.spans_duplicate.labels(project).inc(count)
        for project, count in (adjusted or {}).items():
            if count:
                self.spans_adjusted.labels(project).inc(count)
        if stored:
            self.ingest_lag.observe(max(0.0, time.monotonic() - since))

    def count_otlp_request(self, status: int) -> None:
        """Count one OTLP request answered with HTTP ``status``."""
        self.otlp_requests.labels(str(status)).inc()

    def render(self) -> tuple[bytes, str]:
        """Return the exposition text and its content type."""
        registry: Any = self.registry
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
