"""``windlass projects``."""

from __future__ import annotations

import typer

from windlass.cli.commands.governance import project_settings
from windlass.cli.context import JSON_OPTION, URI_OPTION, open_service
from windlass.cli.render import print_items, table
from windlass.entities import all_pages, iso

app = typer.Typer(
    help="Projects: the containers of runs, models, datasets and traces.", no_args_is_help=True
)


@app.command("ls")
def list_projects(uri: str | None = URI_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List projects."""
    service = open_service(uri, must_exist=True)
    projects = all_pages(lambda token: service.list_projects(1000, token))
    if as_json:
        print_items(projects)
        return
    table(
        "projects",
        ["name", "id", "created"],
        [[p.name, p.id, iso(p.created_at)] for p in projects],
        keep=("id",),
    )


app.command("settings")(project_settings)
