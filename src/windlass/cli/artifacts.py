"""``windlass artifacts``: ls, get."""

from __future__ import annotations

from pathlib import Path

import typer

from windlass.cli.context import JSON_OPTION, URI_OPTION, handle_errors, open_service
from windlass.cli.render import print_items, table
from windlass.tracking.id_prefixes import resolve_run_id
from windlass.tracking.service import Tracking
from windlass.uris import parse_object_uri

app = typer.Typer(help="Run artifacts: list and download.", no_args_is_help=True)

TARGET_HELP = "RUN_ID (or a unique prefix of it) or runs:/RUN_ID/PATH"


def _split(service: Tracking, target: str, path: str) -> tuple[str, str]:
    """Accept either RUN_ID [PATH] (an id or a unique prefix) or runs:/RUN_ID/PATH."""
    if target.startswith("runs:/"):
        parsed = parse_object_uri(target)
        if parsed.project is not None \
                and service.get_run(parsed.name).project_id \
                != service.store.get_project(parsed.project).id:
            from windlass.exceptions import RunNotFound

            raise RunNotFound(f"run {parsed.name} is not in project {parsed.project!r}",
                              run_id=parsed.name, project=parsed.project)
        return parsed.name, parsed.path or path
    return resolve_run_id(service.store, target), path


@app.command("ls")
@handle_errors
def list_artifacts(target: str = typer.Argument(..., help=TARGET_HELP),
                   path: str = typer.Argument("", help="Folder inside the run's artifacts."),
                   uri: str | None = URI_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List a folder of a run's artifacts."""
    service = open_service(uri, must_exist=True)
    run_id, path = _split(service, target, path)
    files = service.list_artifacts(run_id, path)
    if as_json:
        print_items(files)
        return
    table(f"artifacts of {run_id}/{path}", ["path", "type", "size", "digest"],
          [[f.path, "dir" if f.is_dir else "file", f.size, (f.digest or "")[:16]]
           for f in files])


@app.command("get")
@handle_errors
def get_artifacts(target: str = typer.Argument(..., help=TARGET_HELP),
                  path: str = typer.Argument("", help="File or folder (default: all)."),
                  dest: Path = typer.Option(Path("."), "--dest", "-d", help="Download here."),
                  uri: str | None = URI_OPTION) -> None:
    """Download a file or folder of a run's artifacts (verified against its hash)."""
    service = open_service(uri, must_exist=True)
    run_id, path = _split(service, target, path)
    local = service.download_artifacts(run_id, path, dest)
    typer.echo(str(local))
