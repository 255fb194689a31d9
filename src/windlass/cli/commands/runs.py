"""``windlass runs``: ls, show, compare, delete, restore."""

from __future__ import annotations

from collections.abc import Callable

import typer

from windlass.cli.context import JSON_OPTION, PROJECT_OPTION, URI_OPTION, open_service
from windlass.cli.render import print_items, print_json, runs_table, short_ids, table
from windlass.entities import Run, ViewType, iso
from windlass.tracking.id_prefixes import resolve_run_id
from windlass.tracking.service import Tracking

RUN_ID_HELP = "A run id, or a unique prefix of it (as tables show it)."

app = typer.Typer(help="Runs: list, inspect, compare, delete and restore.", no_args_is_help=True)


@app.command("ls")
def list_runs(
    project: str | None = PROJECT_OPTION,
    filter: str = typer.Option(
        None,
        "--filter",
        "-f",
        help="Search filter, e.g. \"metrics.loss < 0.1 and params.depth = '6'\".",
    ),
    order_by: list[str] = typer.Option(
        None, "--order-by", "-o", help="e.g. 'metrics.loss ASC' (repeatable)."
    ),
    max_results: int = typer.Option(50, "--max-results", "-n", min=1, max=50_000),
    view: ViewType = typer.Option(ViewType.ACTIVE, "--view", help="active, deleted or all."),
    page_token: str | None = typer.Option(
        None, "--page-token", help="The next page of an earlier listing."
    ),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List runs of a project, filtered and ordered."""
    from windlass import config

    service = open_service(uri, must_exist=True)
    project = project or config.settings.project
    page = service.search_runs([project], filter, order_by or None, max_results, page_token, view)
    if as_json:
        print_items(page.items, page.next_page_token)
        return
    runs_table(page.items, title=f"runs of {project}", resolve=_resolver(service))
    if page.next_page_token:
        typer.echo(f"more: --page-token {page.next_page_token}")


def _resolver(service: Tracking) -> Callable[[str], str]:
    return lambda prefix: resolve_run_id(service.store, prefix)


def _run(service: Tracking, run_id: str) -> Run:
    return service.get_run(resolve_run_id(service.store, run_id))


def _show(run: Run) -> None:
    table(
        f"run {run.id}",
        ["field", "value"],
        [
            ["name", run.name],
            ["status", run.status.value],
            ["project id", run.project_id],
            ["started", iso(run.start_time)],
            ["ended", iso(run.end_time)],
            ["user", run.user],
            ["parent run", run.parent_run_id],
            ["deleted", run.deleted],
            ["git commit", run.source.git_commit],
            ["git dirty", run.source.git_dirty],
            ["command", run.source.command],
            ["host", run.source.host],
        ],
    )
    table("params", ["key", "value"], sorted(run.params.items()))
    table(
        "metrics (latest)",
        ["key", "value", "step"],
        [[k, m.value, m.step] for k, m in sorted(run.metrics.items())],
    )
    table("tags", ["key", "value"], sorted(run.tags.items()))


@app.command("show")
def show_run(
    run_id: str = typer.Argument(..., help=RUN_ID_HELP),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one run: status, source, params, latest metrics and tags."""
    run = _run(open_service(uri, must_exist=True), run_id)
    if as_json:
        print_json(run.to_dict())
    else:
        _show(run)


@app.command("compare")
def compare_runs(
    run_ids: list[str] = typer.Argument(..., help="Two or more run ids (or unique prefixes)."),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Compare runs side by side: every param and latest metric as a row."""
    service = open_service(uri, must_exist=True)
    runs = [_run(service, r) for r in run_ids]
    if as_json:
        print_items(runs)
        return
    rows: list[list[object]] = [
        ["name", *(r.name for r in runs)],
        ["status", *(r.status.value for r in runs)],
    ]
    for key in sorted({k for r in runs for k in r.params}):
        rows.append([f"params.{key}", *(r.params.get(key) for r in runs)])
    for key in sorted({k for r in runs for k in r.metrics}):
        rows.append(
            [f"metrics.{key}", *(r.metrics[key].value if key in r.metrics else None for r in runs)]
        )
    shown = short_ids([r.id for r in runs], _resolver(service))
    table("comparison", ["", *(shown[r.id] for r in runs)], rows, keep_headers=True)


@app.command("delete")
def delete_run(
    run_id: str = typer.Argument(..., help=RUN_ID_HELP),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Soft-delete a run (restore it with `windlass runs restore`)."""
    service = open_service(uri, must_exist=True)
    run = service.delete_run(resolve_run_id(service.store, run_id))
    print_json(run.to_dict()) if as_json else typer.echo(f"deleted run {run.id}")


@app.command("restore")
def restore_run(
    run_id: str = typer.Argument(..., help=RUN_ID_HELP),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Restore a deleted run."""
    service = open_service(uri, must_exist=True)
    run = service.restore_run(resolve_run_id(service.store, run_id))
    print_json(run.to_dict()) if as_json else typer.echo(f"restored run {run.id}")
