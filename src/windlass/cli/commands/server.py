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
) -> None:
    """Serve the REST API (OpenAPI at /docs) over a store and an artifact root."""
    from windlass.server.run import serve
    from windlass.tracking.backend import open_tracking

    # Open once here so that a bad URI fails with a clear message before uvicorn starts,
    # and so that the schema is migrated before workers race for it.
    open_tracking(store, artifacts).close()
    typer.echo(f"windlass server on http://{host}:{port} (docs at /docs)")
    serve(host, port, store, artifacts, workers, log_level)
