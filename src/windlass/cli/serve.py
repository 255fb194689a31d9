"""``windlass serve``: a model server for a model or a deployment."""

from __future__ import annotations

import typer

from windlass.cli.context import handle_errors


@handle_errors
def serve(
    uri: str = typer.Argument(..., metavar="URI", help="models:/NAME@ALIAS, models:/NAME/N, "
                              "runs:/ID/PATH, a model folder, or deployments:/NAME."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8080, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
    max_batch_size: int = typer.Option(64, min=1, max=100_000,
                                       help="Most rows merged into one predict call."),
    max_wait_ms: float = typer.Option(2.0, min=0.0, max=10_000.0,
                                      help="Longest wait for more requests to batch."),
    trust: bool = typer.Option(False, "--trust", help="Allow models whose files run code "
                               "(pickle, torch .pt2, Python models)."),
    log_predictions: bool = typer.Option(True, "--log-predictions/--no-log-predictions",
                                         help="Write the prediction log (Parquet)."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Serve predictions over HTTP: /predict, Open Inference Protocol V2, /metrics, /docs."""
    from windlass.server.model_server import build_router, serve_model

    # Load once here: a bad URI or an untrusted model fails with a clear message before
    # uvicorn starts its workers.
    build_router(uri, trust=trust, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms)
    typer.echo(f"serving {uri} on http://{host}:{port} (docs at /docs, metrics at /metrics)")
    serve_model(uri, host=host, port=port, workers=workers, trust=trust,
                max_batch_size=max_batch_size, max_wait_ms=max_wait_ms,
                log_predictions=log_predictions, log_level=log_level)
