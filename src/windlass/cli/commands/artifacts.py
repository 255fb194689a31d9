"""``windlass artifacts``: ls, get."""

from __future__ import annotations

from pathlib import Path

import typer

from windlass.cli.context import JSON_OPTION, PROJECT_OPTION, URI_OPTION, open_service
from windlass.cli.render import print_items, table
from windlass.exceptions import RunNotFound
from windlass.tracking.id_prefixes import resolve_run_id
from windlass.tracking.service import Tracking
from windlass.uris import parse_object_uri, pick_project

app = typer.Typer(help="Run artifacts: list and download.", no_args_is_help=True)

TARGET_HELP = "RUN_ID (or a unique prefix of it), runs:/RUN_ID/PATH or runs://PROJECT/RUN_ID/PATH"


def _split(service: Tracking, target: str, path: str, project: str | None) -> tuple[str, str]:
    """Accept RUN_ID [PATH] (an id or a unique prefix) or runs:/RUN_ID/PATH.

    A project (``runs://P/...`` or ``--project``) must be the run's: a check, since run
    ids are global.
    """
    if target.startswith("runs:/"):
        parsed = parse_object_uri(target)
        run_id, path = parsed.name, parsed.path or path
        project = pick_project(parsed.project, project, target)
    else:
        run_id = resolve_run_id(service.store, target)
    if (
        project is not None
        and service.get_run(run_id).project_id != service.store.runs.get_project(project).id
    ):
        raise RunNotFound(
            f"run {run_id} is not in project {project!r}", run_id=run_id, project=project
        )
    return run_id, path


@app.command("ls")
def list_artifacts(
    target: str = typer.Argument(..., help=TARGET_HELP),
    path: str = typer.Argument("", help="Folder inside the run's artifacts."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List a folder of a run's artifacts."""
    service = open_service(uri, must_exist=True)
    run_id, path = _split(service, target, path, project)
    files = service.list_artifacts(run_id, path)
    if as_json:
        print_items(files)
        return
    table(
        f"artifacts of {run_id}/{path}",
        ["path", "type", "size", "digest"],
        [[f.path, "dir" if f.is_dir else "file", f.size, (f.digest or "")[:16]] for f in files],
    )


@app.command("get")
def get_artifacts(
    target: str = typer.Argument(..., help=TARGET_HELP),
    path: str = typer.Argument("", help="File or folder (default: all)."),
    dest: Path = typer.Option(Path("."), "--dest", "-d", help="Download here."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
) -> None:
    """Download a file or folder of a run's artifacts (verified against its hash)."""
    service = open_service(uri, must_exist=True)
    run_id, path = _split(service, target, path, project)
    local = service.download_artifacts(run_id, path, dest)
    typer.echo(str(local))
