"""``windlass artifacts``: ls, get."""

from __future__ import annotations

from pathlib import Path

import typer

from windlass.cli.context import JSON_OPTION, URI_OPTION, handle_errors, open_service
from windlass.cli.render import print_json, table
from windlass.uris import parse_object_uri

app = typer.Typer(help="Run artifacts: list and download.", no_args_is_help=True)


def _split(target: str, path: str) -> tuple[str, str]:
    """Accept either RUN_ID [PATH] or runs:/RUN_ID/PATH."""
    if target.startswith("runs:/"):
        parsed = parse_object_uri(target)
        return parsed.name, parsed.path or path
    return target, path


@app.command("ls")
@handle_errors
def list_artifacts(target: str = typer.Argument(..., help="RUN_ID or runs:/RUN_ID/PATH"),
                   path: str = typer.Argument("", help="Folder inside the run's artifacts."),
                   uri: str | None = URI_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List a folder of a run's artifacts."""
    run_id, path = _split(target, path)
    files = open_service(uri).list_artifacts(run_id, path)
    if as_json:
        print_json([f.to_dict() for f in files])
        return
    table(f"artifacts of {run_id}/{path}", ["path", "type", "size", "digest"],
          [[f.path, "dir" if f.is_dir else "file", f.size, (f.digest or "")[:16]]
           for f in files])


@app.command("get")
@handle_errors
def get_artifacts(target: str = typer.Argument(..., help="RUN_ID or runs:/RUN_ID/PATH"),
                  path: str = typer.Argument("", help="File or folder (default: all)."),
                  dest: Path = typer.Option(Path("."), "--dest", "-d", help="Download here."),
                  uri: str | None = URI_OPTION) -> None:
    """Download a file or folder of a run's artifacts (verified against its hash)."""
    run_id, path = _split(target, path)
    local = open_service(uri).download_artifacts(run_id, path, dest)
    typer.echo(str(local))
