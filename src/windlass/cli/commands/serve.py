"""``windlass serve``: a model server for a model or a deployment."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

import typer

from windlass.cli.context import PROJECT_OPTION, URI_OPTION, connect


class AuthMode(StrEnum):
    """What ``windlass serve --auth`` asks of a request."""

    none = "none"
    token = "token"  # noqa: S105 - the mode's name, not a secret
    store = "store"


def serve(
    model_uri: str = typer.Argument(
        ...,
        metavar="MODEL_URI",
        help="models:/NAME@ALIAS, models:/NAME/N, runs:/ID/PATH, a "
        "model folder, or deployments:/NAME; "
        "models://PROJECT/NAME@ALIAS names the project.",
    ),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8080, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
    max_batch_size: int = typer.Option(
        64, min=1, max=100_000, help="Most rows merged into one predict call."
    ),
    max_wait_ms: float = typer.Option(
        2.0, min=0.0, max=10_000.0, help="Longest wait for more requests to batch."
    ),
    trust: bool = typer.Option(
        False,
        "--trust",
        help="Allow models whose files run code (pickle, torch .pt2, Python models).",
    ),
    log_predictions: bool = typer.Option(
        True, "--log-predictions/--no-log-predictions", help="Write the prediction log (Parquet)."
    ),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
    auth: AuthMode = typer.Option(
        AuthMode.none,
        "--auth",
        help="token: every route but /v2/health/* and /metrics needs "
        "`Authorization: Bearer <key>` (a key of --api-key-file). store: the same, with an "
        "API token of the store the model comes from (the tracking server's tokens; a "
        "viewer of the model's project may score); with --api-key-file, either passes.",
    ),
    api_key_file: Path | None = typer.Option(
        None,
        "--api-key-file",
        help="File of API keys for --auth token (or store), one a line; not readable by "
        "other users (chmod 600).",
    ),
    protect_probes: bool = typer.Option(
        False,
        "--protect-probes",
        help="With --auth token or store, require a token on /v2/health/* and /metrics too.",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Load and verify the model (or "
        "every variant of the deployment), print what would be "
        "served, and exit.",
    ),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
) -> None:
    """Serve predictions over HTTP: /predict, Open Inference Protocol V2, /metrics, /docs."""
    from windlass.exceptions import InvalidInput
    from windlass.server.api_keys import read_key_file
    from windlass.server.model_server import build_router, serve_model
    from windlass.uris import with_project

    if auth is AuthMode.token and api_key_file is None:
        raise InvalidInput(
            "--auth token needs --api-key-file (a file of API keys); to accept the store's "
            "API tokens instead, use --auth store"
        )
    if auth is AuthMode.none and (api_key_file is not None or protect_probes):
        raise InvalidInput("--api-key-file and --protect-probes need --auth token or store")
    if api_key_file is not None:
        api_key_file = api_key_file.resolve()
        read_key_file(api_key_file)  # refuse a readable or empty key file before starting
    target = with_project(model_uri, project)
    if target.startswith(("models:/", "runs:/", "deployments:/")):
        connect(uri, must_exist=True)
        if uri is not None:  # the worker processes read the store from the environment
            os.environ["WINDLASS_TRACKING_URI"] = uri
    if auth is AuthMode.store:
        from windlass.server.store_tokens import store_tokens_for

        # Fail before starting: a folder has no store, the served project must exist.
        store_tokens_for(target)
    # Load once here: a bad URI or an untrusted model fails with a clear message before
    # uvicorn starts its workers.
    router = build_router(
        target, trust=trust, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms
    )
    if dry_run:
        import asyncio

        for served in router.all_served():
            typer.echo(
                f"{served.variant}: {served.resolved.uri} ({served.name} version "
                f"{served.resolved.version or '-'}) loads"
            )
        asyncio.run(router.close())
        typer.echo(f"not serving {target} (--dry-run)")
        return
    guarded = {
        AuthMode.none: "",
        AuthMode.token: " (bearer API key required)",
        AuthMode.store: " (bearer API token of the store required)",
    }[auth]
    typer.echo(
        f"serving {target} on http://{host}:{port}{guarded} (docs at /docs, metrics at /metrics)"
    )
    serve_model(
        target,
        host=host,
        port=port,
        workers=workers,
        trust=trust,
        max_batch_size=max_batch_size,
        max_wait_ms=max_wait_ms,
        log_predictions=log_predictions,
        log_level=log_level,
        api_key_file=None if api_key_file is None else str(api_key_file),
        protect_probes=protect_probes,
        store_tokens=auth is AuthMode.store,
    )
