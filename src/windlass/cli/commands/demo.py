"""``windlass demo``: a server on the embedded store, tracked training runs, the best runs."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import typer


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def _start_server(host: str, port: int, app: Any = None) -> tuple[object, threading.Thread]:
    import uvicorn

    from windlass.server.app import create_app
    from windlass.server.net import http_protocol
    from windlass.tracking.backend import open_tracking

    config = uvicorn.Config(
        app or create_app(open_tracking()),
        host=host,
        port=port,
        log_level="warning",
        http=http_protocol(),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="windlass-demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise typer.Exit(1)
        time.sleep(0.05)
    return server, thread


def _serve_ab_test(host: str, challenger_run: str) -> tuple[object, str]:
    """Serve a 90/10 deployment of champion and challenger, send traffic, show metrics."""
    import httpx

    from windlass.cli.render import console, table
    from windlass.demo.walkthrough import deploy_ab, traffic
    from windlass.server.model_server import create_model_server_app

    deployment = deploy_ab(challenger_run)
    port = _free_port(host)
    model_server, _thread = _start_server(
        host, port, create_model_server_app(f"deployments:/{deployment}")
    )
    url = f"http://{host}:{port}"
    console.print(
        f"serving deployments:/{deployment} (champion 90%, challenger 10%) at {url}/predict",
        markup=False,
        highlight=False,
    )
    counts: dict[str, int] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for key, rows in traffic(200):
            answer = client.post("/predict", json={"inputs": rows}, headers={"X-Windlass-Key": key})
            answer.raise_for_status()
            variant = answer.headers["X-Windlass-Variant"]
            counts[variant] = counts.get(variant, 0) + 1
        metrics = client.get("/metrics").text
    table(
        "200 requests by variant (sticky per customer key)",
        ["variant", "requests"],
        sorted(counts.items()),
    )
    shown = [
        line
        for line in metrics.splitlines()
        if line.startswith(("windlass_requests_total", "windlass_batch_size_count"))
    ]
    console.print("\n".join(shown), markup=False, highlight=False)
    return model_server, url


def next_steps(server_url: str | None) -> list[str]:
    """Return commands to try after the demo: through its server, or the embedded store.

    With ``server_url`` None (``--no-serve``) the demo's servers are gone, so no command
    names them: the CLI reads the embedded store directly and ``windlass serve`` starts a
    model server of its own.
    """
    from windlass.demo.walkthrough import DEPLOYMENT, MODEL, PROJECT

    uri = f" --uri {server_url}" if server_url else ""
    steps = [
        f'windlass runs ls{uri} -p {PROJECT} -f "metrics.roc_auc > 0.7" -o "metrics.roc_auc DESC"',
        f"windlass models versions {MODEL}{uri} -p {PROJECT}",
        f"windlass deployments status {DEPLOYMENT}{uri} -p {PROJECT}",
    ]
    if server_url is None:
        steps.append(f"windlass serve models://{PROJECT}/{MODEL}@champion")
    return steps


def ui_url(server_url: str) -> str:
    """Return the web UI page the demo ends on: the runs of its churn project."""
    from windlass.demo.walkthrough import PROJECT

    return f"{server_url}/projects/{PROJECT}/runs"


def _print_hints(server_url: str | None) -> None:
    from windlass import config
    from windlass.cli.render import console

    if server_url is None:
        console.print(
            f"the demo's servers have stopped; everything stays in {config.settings.home}. Try:",
            markup=False,
            highlight=False,
        )
    else:
        console.print(
            f"try (while the demo serves at {server_url}):", markup=False, highlight=False
        )
    for step in next_steps(server_url):
        console.print(f"  {step}", markup=False, highlight=False, soft_wrap=True)
    if server_url is None:
        console.print(
            "and the web UI over the same store: windlass ui (until Ctrl-C)",
            markup=False,
            highlight=False,
        )


def demo(
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="Keep serving after the walkthrough (until Ctrl-C)."
    ),
    host: str = typer.Option("127.0.0.1", help="Interface for the demo server."),
    port: int = typer.Option(5000, help="Port (0, or a taken port: a free one is picked)."),
) -> None:
    """Walk through windlass: serve, train and track models, show the best runs."""
    import windlass
    from windlass import config
    from windlass.cli.render import console, runs_table
    from windlass.demo.walkthrough import MODEL, PROJECT, register_best, train_models
    from windlass.extras import require

    require("sklearn", extra="ml", feature="windlass demo")
    if port == 0 or not _port_free(host, port):
        port = _free_port(host)
    url = f"http://{host}:{port}"
    console.print(f"[bold]windlass demo[/bold] — embedded store in {config.settings.home}")
    server, thread = _start_server(host, port)
    until = "" if serve else ", until the walkthrough ends"
    console.print(f"server running at {url} (API docs at {url}/docs){until}")
    windlass.set_tracking_uri(url)
    console.print(f"training churn models, tracked in project [bold]{PROJECT}[/bold]:")
    parent = train_models(log=lambda line: console.print(line, markup=False))
    best = windlass.search_runs(
        project=PROJECT,
        filter=f"parent_run_id = '{parent}'",
        order_by=["metrics.roc_auc DESC"],
        max_results=5,
        output_format="list",
    )
    assert isinstance(best, list)
    runs_table(best, title="best runs by roc_auc")
    version = register_best(best[0].id)
    console.print(
        f"registered {best[0].name} as {MODEL} version {version.version}, alias champion",
        markup=False,
        highlight=False,
    )
    champion = windlass.load_model(f"models:/{MODEL}@champion")
    example = champion.input_example()
    console.print(
        f"models:/{MODEL}@champion predicts {champion.predict(example).tolist()} for "
        "its input example (every file verified)",
        markup=False,
        highlight=False,
    )
    model_server, _model_url = _serve_ab_test(host, best[1].id)
    from windlass.demo.prompts import walkthrough

    console.print("[bold]prompts and traces[/bold]:")
    walkthrough(log=lambda line: console.print(line, markup=False, highlight=False))
    windlass.set_tracking_uri(None)
    _print_hints(url if serve else None)
    if serve:
        console.print(f"web UI: {ui_url(url)} — serving until Ctrl-C", markup=False)
        try:
            while thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            pass
    for running, running_thread in ((model_server, None), (server, thread)):
        running.should_exit = True  # type: ignore[attr-defined]
        if running_thread is not None:
            running_thread.join(10)
