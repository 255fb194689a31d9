"""Run ``windlass serve``: a model server for a model URI or a deployment, with N workers.

Worker processes rebuild the app from ``WINDLASS_SERVE_SPEC`` (uvicorn's factory mode);
with several workers, Prometheus metrics go through a shared folder so that ``/metrics``
reports the whole server.

With ``--auth token`` every route but the probes needs a bearer API key
(:mod:`windlass.server.bearer`); the key file's path, never a key, travels to the workers,
each of which reads the file itself. With ``--auth store`` a bearer token of the store the
model is loaded from passes too, when its user may read the served project
(:mod:`windlass.server.store_tokens`); each worker checks tokens against the store itself.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

from windlass import config
from windlass.server.net import http_protocol

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from windlass.server.bearer import Authenticate, Verify

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
    authenticate: Authenticate | None = None,
    protect_probes: bool = False,
    verify: Verify | None = None,
) -> ASGIApp:
    """Return the serving app for ``uri`` (models:/, runs:/, a folder, or deployments:/).

    With ``authenticate`` (see :mod:`windlass.server.bearer`), every request but the health
    probes and ``/metrics`` (those too with ``protect_probes``) needs a bearer token it
    accepts (or, when it refuses, ``verify`` does: the store's tokens). Every response
    carries the security headers.
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
    if authenticate is None:
        serving = create_serving_app(router, log=log)
        # POST /predict sends nosniff itself (serving.asgi.send_json) and bypasses the
        # middleware: one layer less on the scoring hot path. Every other route keeps it.
        serving.routes = SecurityHeaders(serving.routes)
        return serving
    from windlass.server.bearer import PROBE_PATHS, BearerAuth

    open_paths = frozenset() if protect_probes else PROBE_PATHS
    app = create_serving_app(router, log=log, open_paths=open_paths)
    return SecurityHeaders(BearerAuth(app, authenticate, open_paths=open_paths, verify=verify))


def create_app_from_env() -> ASGIApp:
    """Build the serving app from ``WINDLASS_SERVE_SPEC`` (uvicorn workers call this)."""
    import orjson

    spec = orjson.loads(os.environ[_ENV])
    authenticate, verify = _credentials(
        spec["uri"], spec.get("api_key_file"), spec.get("store_tokens", False)
    )
    return create_model_server_app(
        spec["uri"],
        trust=spec["trust"],
        max_batch_size=spec["max_batch_size"],
        max_wait_ms=spec["max_wait_ms"],
        log_predictions=spec["log_predictions"],
        authenticate=authenticate,
        protect_probes=spec.get("protect_probes", False),
        verify=verify,
    )


def _credentials(
    uri: str, key_file: str | None, store_tokens: bool
) -> tuple[Authenticate | None, Verify | None]:
    """Return the ``authenticate`` and ``verify`` checks of a key file and/or store tokens."""
    from windlass.server.api_keys import StaticApiKeys
    from windlass.server.store_tokens import store_tokens_for

    keys = None if key_file is None else StaticApiKeys.from_file(key_file)
    if not store_tokens:
        return keys, None
    tokens = store_tokens_for(uri)
    if keys is None:
        return tokens, tokens.verify
    static = keys

    def either(header: bytes | None) -> bool:
        return static(header) or tokens(header)

    return either, tokens.verify


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
    api_key_file: str | None = None,
    protect_probes: bool = False,
    store_tokens: bool = False,
) -> None:
    """Serve ``uri`` until interrupted (blocks).

    ``api_key_file`` turns on bearer authentication with the keys of that file (see
    :mod:`windlass.server.api_keys`); ``store_tokens`` with the API tokens of the store the
    model comes from (see :mod:`windlass.server.store_tokens`); with both, either passes.
    ``protect_probes`` puts the probes behind it too.
    """
    import orjson
    import uvicorn

    os.environ[_ENV] = orjson.dumps(
        {
            "uri": uri,
            "trust": trust,
            "max_batch_size": max_batch_size,
            "max_wait_ms": max_wait_ms,
            "log_predictions": log_predictions,
            "api_key_file": api_key_file,
            "protect_probes": protect_probes,
            "store_tokens": store_tokens,
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
        ws="none",  # no WebSocket routes: skip importing a WebSocket library at start
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
