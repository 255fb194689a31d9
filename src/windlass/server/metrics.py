"""Prometheus metrics of the tracking server: spans ingested, duplicates, OTLP requests, lag.

Served at ``GET /metrics`` of ``windlass server``:

- ``windlass_spans_ingested_total{project}``: spans stored (OTLP and REST ingest);
- ``windlass_spans_duplicate_total{project}``: spans refused because the project already
  held their ``(trace_id, span_id)`` (they are also reported back to the sender);
- ``windlass_spans_adjusted_total{project}``: spans stored with values clamped or truncated
  to the stored bounds (each lists what changed in its ``windlass.adjusted`` attribute);
- ``windlass_otlp_requests_total{status}``: ``POST /v1/traces`` requests by HTTP status;
- ``windlass_span_ingest_lag_seconds``: time from a request's body being read until its
  spans are committed, so queryable;
- ``windlass_http_requests_total{method,route,status}`` and
  ``windlass_http_request_duration_seconds{method,route}``: every REST answer, labelled by
  the route's template (``/api/v1/runs/{run_id}``, never the raw path; ``unmatched`` for
  paths no route serves).

Every label is bounded: projects come from clients (the ``x-windlass-project`` header, span
attributes), so only the first :data:`MAX_PROJECT_LABELS` distinct projects a process sees
get a series of their own; later ones are counted under ``other``.

Each app has its own registry. With several worker processes (``windlass server
--workers N``) every worker counts on its own, and a scrape sees the figures of the one
worker that answered, unless ``PROMETHEUS_MULTIPROC_DIR`` names a folder (empty at start,
shared by the workers, set before they start): then every worker writes there and
``/metrics`` adds them up, as ``windlass serve`` does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

#: Distinct project label values per process; further projects are counted as ``other``.
MAX_PROJECT_LABELS = 500
#: The label of projects past :data:`MAX_PROJECT_LABELS`.
OTHER_PROJECTS = "other"
#: Buckets of REST request durations, in seconds.
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: Buckets of the ingest lag, in seconds: a millisecond to a minute.
LAG_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


class TrackingServerMetrics:
    """The metrics one tracking server exposes at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.spans_ingested = Counter(
            "windlass_spans_ingested",
            "Spans stored, per project.",
            ["project"],
            registry=self.registry,
        )
        self.spans_duplicate = Counter(
            "windlass_spans_duplicate",
            "Spans not stored because the project already held their trace and span id.",
            ["project"],
            registry=self.registry,
        )
        self.spans_adjusted = Counter(
            "windlass_spans_adjusted",
            "Spans stored with values clamped or truncated to the stored bounds.",
            ["project"],
            registry=self.registry,
        )
        self.otlp_requests = Counter(
            "windlass_otlp_requests",
            "OTLP/HTTP trace export requests, by HTTP status.",
            ["status"],
            registry=self.registry,
        )
        self.ingest_lag = Histogram(
            "windlass_span_ingest_lag_seconds",
            "Time from a request's body being read until its spans are committed.",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.http_requests = Counter(
            "windlass_http_requests",
            "REST requests answered, by method, route template and HTTP status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "windlass_http_request_duration_seconds",
            "Time from a REST request's arrival until its response was sent.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self._projects: set[str] = set()

    def project_label(self, project: str) -> str:
        """Return the label of ``project``: itself while few are labelled, else ``other``."""
        if project in self._projects:
            return project
        if len(self._projects) < MAX_PROJECT_LABELS:
            self._projects.add(project)
            return project
        return OTHER_PROJECTS

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one REST answer and its duration."""
        method = method if method in _METHODS else "OTHER"
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def observe_ingest(
        self,
        accepted: Mapping[str, int],
        duplicates: Mapping[str, int],
        since: float,
        adjusted: Mapping[str, int] | None = None,
    ) -> None:
        """Count spans stored, refused and adjusted per project, and the lag since ``since``.

        ``since`` is the :func:`time.monotonic` reading taken when the body was read; the
        lag is observed once per request that stored spans.
        """
        stored = False
        for project, count in accepted.items():
            if count:
                stored = True
                self.spans_ingested.labels(self.project_label(project)).inc(count)
        for project, count in duplicates.items():
            if count:
                self.spans_duplicate.labels(self.project_label(project)).inc(count)
        for project, count in (adjusted or {}).items():
            if count:
                self.spans_adjusted.labels(self.project_label(project)).inc(count)
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


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class RequestMetrics:
    """ASGI middleware counting every HTTP answer of the REST API, by route template."""

    def __init__(
        self, app: Callable[[Scope, Receive, Send], Awaitable[None]], metrics: TrackingServerMetrics
    ) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, then count its status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception escaping the app is answered 500 by the outer layer

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The router stored the matched route in the scope; its path is the template.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe_http(scope["method"], route, status, time.perf_counter() - started)
