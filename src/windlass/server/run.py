"""Run ``windlass server``: uvicorn with one or more workers over the configured stores."""

from __future__ import annotations

import ipaddress
import os
import tempfile

from windlass import config
from windlass.exceptions import ConfigError
from windlass.server.net import http_protocol


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_auth_mode(host: str, *, auth: bool, insecure_no_auth: bool = False) -> None:
    """Raise ConfigError for a server bound beyond loopback with auth off (unless insecure).

    Called before anything binds, so a refused server never listens, not even briefly.
    """
    if auth or insecure_no_auth or is_loopback(host):
        return
    raise ConfigError(
        f"refusing to serve on {host} without authentication: anyone who can reach it "
        "could read and change everything. Turn auth on (WINDLASS_AUTH=on or --auth on, "
        "then bootstrap an admin with `windlass users create NAME --admin --uri STORE`), "
        "or pass --insecure-no-auth if a proxy in front of it authenticates",
        host=host,
    )


def serve(
    host: str,
    port: int,
    store: str | None,
    artifacts: str | None,
    workers: int = 1,
    log_level: str = "warning",
    *,
    auth: bool | None = None,
) -> None:
    """Serve the REST API until interrupted (blocks); ``auth``: default ``WINDLASS_AUTH``."""
    import uvicorn

    # Worker processes build the app from the environment (uvicorn's factory mode).
    os.environ["WINDLASS_SERVER_STORE"] = store or config.default_store_uri()
    os.environ["WINDLASS_SERVER_ARTIFACTS"] = artifacts or config.default_artifact_uri()
    if auth is not None:
        os.environ["WINDLASS_AUTH"] = "on" if auth else "off"
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics then adds up every worker's figures, whichever worker answers.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="windlass-metrics-")
    if workers > 1:
        # This process only supervises; each worker builds its app with the collector
        # paused (create_app_from_env), so the one `windlass server` paused is resumed here.
        from windlass.server.startup import resume_collector

        resume_collector()
    uvicorn.run(
        "windlass.server.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=http_protocol(),
        ws="none",  # no WebSocket routes: skip importing a WebSocket library at start
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
