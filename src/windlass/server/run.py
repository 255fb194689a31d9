"""Run ``windlass server``: uvicorn with one or more workers over the configured stores."""

from __future__ import annotations

import os
import tempfile

from windlass import config
from windlass.server.net import http_protocol


def serve(
    host: str,
    port: int,
    store: str | None,
    artifacts: str | None,
    workers: int = 1,
    log_level: str = "warning",
) -> None:
    """Serve the REST API until interrupted (blocks)."""
    import uvicorn

    # Worker processes build the app from the environment (uvicorn's factory mode).
    os.environ["WINDLASS_SERVER_STORE"] = store or config.default_store_uri()
    os.environ["WINDLASS_SERVER_ARTIFACTS"] = artifacts or config.default_artifact_uri()
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics then adds up every worker's figures, whichever worker answers.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="windlass-metrics-")
    uvicorn.run(
        "windlass.server.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=http_protocol(),
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
