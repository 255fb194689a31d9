"""``windlass server``."""

from __future__ import annotations

import typer


def server(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(5000, help="Port to listen on."),
    store: str = typer.Option(
        None,
        help="Metadata store URI (sqlite:///… or postgresql://…); "
        "default: the embedded SQLite store.",
    ),
    artifacts: str = typer.Option(
        None,
        help="Artifact root (path, file://… or s3://bucket/"
        "prefix); default: $WINDLASS_HOME/artifacts.",
    ),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
    auth: str = typer.Option(
        None,
        "--auth",
        help="on: every request needs an API token; off: none (default: WINDLASS_AUTH).",
    ),
    insecure_no_auth: bool = typer.Option(
        False,
        "--insecure-no-auth",
        help="Allow auth off on a non-loopback address (only behind an authenticating proxy).",
    ),
) -> None:
    """Serve the REST API (OpenAPI at /docs) over a store and an artifact root."""
    from windlass.server.startup import pause_collector

    pause_collector()  # until the app is built (windlass.server.startup says why)
    from windlass import config
    from windlass.exceptions import ConfigError
    from windlass.server.run import check_auth_mode, serve
    from windlass.tracking.backend import open_tracking

    if auth not in (None, "on", "off"):
        raise ConfigError(f"--auth must be on or off, not {auth!r}")
    auth_on = config.settings.auth if auth is None else auth == "on"
    check_auth_mode(host, auth=auth_on, insecure_no_auth=insecure_no_auth)

    # Open once here so that a bad URI fails with a clear message before uvicorn starts,
    # and so that the schema is migrated before workers race for it.
    open_tracking(store, artifacts).close()
    mode = "auth on" if auth_on else "auth off"
    typer.echo(f"windlass server on http://{host}:{port} (docs at /docs, {mode})")
    serve(host, port, store, artifacts, workers, log_level, auth=auth_on)
