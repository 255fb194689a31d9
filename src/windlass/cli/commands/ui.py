"""``windlass ui``: the web UI (the server's app) over the embedded store."""

from __future__ import annotations

import typer

from windlass.cli.context import URI_OPTION


def ui(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(5000, help="Port to listen on."),
    uri: str | None = URI_OPTION,
    artifacts: str = typer.Option(
        None, help="Artifact root (default: WINDLASS_ARTIFACT_URI or $WINDLASS_HOME/artifacts)."
    ),
) -> None:
    """Open the web UI on a store (the embedded one by default) at http://HOST:PORT/."""
    from windlass import config
    from windlass.exceptions import ConfigError
    from windlass.server.run import check_auth_mode
    from windlass.uris import StoreKind, store_kind

    store = uri or config.default_store_uri()
    if store_kind(store) is not StoreKind.SQL:
        raise ConfigError(
            f"windlass ui serves a SQL store, not {store!r}: a server shows its own UI at its "
            "address",
            uri=store,
        )
    check_auth_mode(host, auth=config.settings.auth)
    import uvicorn

    from windlass.server.app import create_app
    from windlass.server.net import http_protocol
    from windlass.tracking.backend import open_tracking

    app = create_app(open_tracking(store, artifacts or None))
    typer.echo(f"windlass UI on http://{host}:{port}/ (store {store})")
    uvicorn.run(app, host=host, port=port, http=http_protocol(), ws="none", log_level="warning")
