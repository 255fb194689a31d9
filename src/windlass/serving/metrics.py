"""Prometheus metrics of the model server: requests, errors, latency, batch sizes, queue depth.

Each server has its own registry. With several worker processes, each worker writes to
``PROMETHEUS_MULTIPROC_DIR`` (set by ``windlass serve --workers N``) and ``/metrics``
aggregates them, so a scrape sees the whole server whichever worker answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServerMetrics:
    """The metrics one model server exposes at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        labels = ["model", "version", "variant"]
        self.requests = Counter(
            "windlass_requests",
            "Prediction requests answered.",
            [*labels, "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "windlass_request_latency_seconds",
            "Time from request to response, per model version.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter(
            "windlass_predicted_rows", "Rows predicted.", labels, registry=self.registry
        )
        self.batch_size = Histogram(
            "windlass_batch_size",
            "Requests merged per predict call.",
            ["model", "version"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_latency = Histogram(
            "windlass_batch_predict_seconds",
            "Time of one batched predict call.",
            ["model", "version"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "windlass_queue_depth",
            "Rows waiting for a batch.",
            ["model", "version"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.logged = Counter(
            "windlass_prediction_log_records",
            "Prediction-log records written (status: written or dropped).",
            ["status"],
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}
        self.reloads = Counter(
            "windlass_model_reloads",
            "Models (re)loaded after a change.",
            ["model"],
            registry=self.registry,
        )

    def observe_request(
        self, labels: tuple[str, str, str], status: str, seconds: float, rows: int = 0
    ) -> None:
        """Count one answered request of (model, version, variant), its latency and rows.

        Every answer counts, errors included: ``status`` is ``ok`` or the lower-case error
        code (``schema_mismatch``, ``internal_error`` for a 500...).
        """
        children = self._children.get(labels)
        if children is None:  # labels() costs a few µs: look each series up once
            children = (
                self.requests.labels(*labels, "ok"),
                self.latency.labels(*labels),
                self.rows.labels(*labels),
            )
            self._children[labels] = children
        counter = children[0] if status == "ok" else self.requests.labels(*labels, status)
        counter.inc()
        children[1].observe(seconds)
        if rows:
            children[2].inc(rows)

    def batch_observer(self, model: str, version: str) -> Callable[[int, int, float], None]:
        """Return a callback recording one batch's request count and predict time."""
        size = self.batch_size.labels(model, version)
        took = self.batch_latency.labels(model, version)

        def observe(requests: int, _rows: int, seconds: float) -> None:
            size.observe(requests)
            took.observe(seconds)

        return observe

    def render(self) -> tuple[bytes, str]:
        """Return the exposition text and its content type."""
        registry: Any = self.registry
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
