"""Run ``windlass serve``: a model server for a model URI or a deployment, with N workers.

Worker processes rebuild the app from ``WINDLASS_SERVE_SPEC`` (uvicorn's factory mode);
with several workers, Prometheus metrics go through a shared folder so that ``/metrics``
reports the whole server.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

from windlass import config
from windlass.server.net import http_protocol

if TYPE_CHECKING:
    from starlette.types import ASGIApp

_ENV = "WINDLASS_SERVE_SPEC"


def build_router(uri: str, *, trust: bool, max_batch_size: int, max_wait_ms: float) -> Any:
    """Return a router for a model URI or ``deployments:/NAME``, with its first plan loaded."""
    from windlass.serving.plans import plan_reader
    from windlass.serving.router import Router

    batching = {
        "max_batch_size": max_batch_size,
        "max_wait_ms": max_wait_ms,
        "max_queue_rows": config.settings.serve_max_queue_rows,
    }
    router = Router(
        plan_reader(uri),
        trust=trust,
        batching=batching,
        poll_seconds=config.settings.serve_poll_seconds,
    )
    router.refresh()
    return router


def _log_name(uri: str) -> str:
    """Return the prediction log's name for an object URI: ``churn``, ``churn-3``..."""
    from dataclasses import replace

    from windlass.uris import parse_object_uri

    plain = str(replace(parse_object_uri(uri), project=None))  # the log is named as before
    return plain.split(":/", 1)[-1].split("@")[0].strip("/").replace("/", "-")


def create_model_server_app(
    uri: str,
    *,
    trust: bool = False,
    max_batch_size: int = 64,
    max_wait_ms: float = 2.0,
    log_predictions: bool = True,
) -> ASGIApp:
    """Return the serving app for ``uri`` (models:/, runs:/, a folder, or deployments:/).

    Every response carries the security headers.
    """
    from windlass.server.security_headers import SecurityHeaders
    from windlass.serving.app import create_serving_app
    from windlass.serving.predlog import PredictionLog, default_root

    router = build_router(uri, trust=trust, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms)
    sample: float = config.settings.prediction_log_sample
    log = None
    if log_predictions and sample > 0:
        name = _log_name(uri) if ":/" in uri else router.primary().name
        metrics = router.metrics
        log = PredictionLog(
            default_root(),
            name,
            sample_rate=sample,
            flush_seconds=config.settings.prediction_log_flush_seconds,
            on_write=lambda status, n: metrics.logged.labels(status).inc(n),
        )
    return SecurityHeaders(create_serving_app(router, log=log))


def create_app_from_env() -> ASGIApp:
    """Build the serving app from ``WINDLASS_SERVE_SPEC`` (uvicorn workers call this)."""
    import orjson

    spec = orjson.loads(os.environ[_ENV])
    return create_model_server_app(
        spec["uri"],
        trust=spec["trust"],
        max_batch_size=spec["max_batch_size"],
        max_wait_ms=spec["max_wait_ms"],
        log_predictions=spec["log_predictions"],
    )


def serve_model(
    uri: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    trust: bool = False,
    max_batch_size: int = 64,
    max_wait_ms: float = 2.0,
    log_predictions: bool = True,
    log_level: str = "warning",
) -> None:
    """Serve ``uri`` until interrupted (blocks)."""
    import orjson
    import uvicorn

    os.environ[_ENV] = orjson.dumps(
        {
            "uri": uri,
            "trust": trust,
            "max_batch_size": max_batch_size,
            "max_wait_ms": max_wait_ms,
            "log_predictions": log_predictions,
        }
    ).decode()
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="windlass-metrics-")
    uvicorn.run(
        "windlass.server.model_server:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=http_protocol(coalesce_writes=True),
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
