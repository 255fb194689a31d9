"""``windlass models``: ls, show, versions, alias, card, delete, download."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer

from windlass.cli.commands.versioned import (
    add_alias_command,
    add_list_command,
    add_versions_command,
)
from windlass.cli.context import JSON_OPTION, PROJECT_OPTION, URI_OPTION, connect, run_id_resolver
from windlass.cli.render import console, print_json, short_ids, table
from windlass.entities import AliasMove, ModelVersion, RegisteredModel, iso
from windlass.exceptions import InvalidInput

app = typer.Typer(help="Model registry: models, versions, aliases, cards.", no_args_is_help=True)


def _list_models(project: str | None) -> list[RegisteredModel]:
    import windlass  # when a command runs, not when the CLI starts

    return windlass.list_registered_models(project=project)


def _connect(uri: str | None, project: str | None) -> str | None:
    """Point the SDK at ``--uri`` (an existing store) and return the project to use."""
    connect(uri, must_exist=True)
    return project


add_list_command(app, "registered models", _list_models)


@app.command("show")
def show_model(
    name: str,
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a registered model: description, tags, aliases and the newest version."""
    import windlass

    model = windlass.get_registered_model(name, project=_connect(uri, project))
    if as_json:
        print_json(model.to_dict())
        return
    table(
        f"model {model.name}",
        ["field", "value"],
        [
            ["description", model.description],
            ["latest version", model.latest_version],
            ["created", iso(model.created_at)],
            ["updated", iso(model.updated_at)],
        ],
    )
    table("aliases", ["alias", "version"], sorted(model.aliases.items()))
    table("tags", ["key", "value"], sorted(model.tags.items()))


_VERSION_COLUMNS = ["version", "aliases", "flavor", "run", "claimed by", "auth", "created"]


def _describe_move(event: AliasMove) -> str:
    return f"{event.object_name}@{event.alias}: {event.from_version} → {event.to_version}"


def _version_rows(
    versions: Sequence[ModelVersion], uri: str | None
) -> Callable[[ModelVersion], list[Any]]:
    runs = short_ids([v.run_id for v in versions if v.run_id], run_id_resolver(uri))
    return lambda v: [
        v.version,
        ", ".join(v.aliases),
        ", ".join(v.manifest.get("flavors") or {}),
        runs.get(v.run_id or "", ""),
        v.claimed_by,
        v.registered_auth.value,
        iso(v.created_at),
    ]


add_versions_command(
    app, "model", "windlass.models", _VERSION_COLUMNS, _version_rows, keep=("run",)
)
add_alias_command(app, "windlass.models", _describe_move, bare_name_shows_history=True)


@app.command("card")
def card(
    name: str,
    set_from: Path = typer.Option(None, "--set", help="Replace the card with this Markdown file."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
) -> None:
    """Print a model's Markdown card, or replace it from a file with --set."""
    import windlass

    project = _connect(uri, project)
    if set_from is not None:
        if not set_from.is_file():
            raise InvalidInput(f"no such file: {set_from}", path=str(set_from))
        windlass.update_registered_model(name, card=set_from.read_text(), project=project)
        console.print(f"card of {name} updated", markup=False, highlight=False)
        return
    text = windlass.get_registered_model(name, project=project).card
    if not text:
        console.print(f"{name} has no card yet (set one with --set FILE.md)", markup=False)
        return
    from rich.markdown import Markdown

    console.print(Markdown(text))


@app.command("delete")
def delete(
    name: str,
    version: int = typer.Option(None, "--version", "-v", help="Delete only this version."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
) -> None:
    """Delete a version (--version) or a whole model; aliased versions must be moved first."""
    import windlass

    project = _connect(uri, project)
    what = (
        f"version {version} of {name}"
        if version is not None
        else f"model {name} and all its versions"
    )
    if not yes:
        typer.confirm(f"delete {what}?", abort=True)
    if version is not None:
        windlass.delete_model_version(name, version, project=project)
    else:
        windlass.delete_registered_model(name, project=project)
    console.print(f"deleted {what}", markup=False, highlight=False)


@app.command("download")
def download(
    model_uri: str = typer.Argument(
        ...,
        metavar="URI",
        help="models:/NAME/VERSION, models:/NAME@ALIAS, "
        "models://PROJECT/NAME@ALIAS or "
        "runs:/RUN_ID/PATH",
    ),
    dest: Path = typer.Argument(..., metavar="DIR", help="An empty or new folder."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
) -> None:
    """Download a model's files (each verified against its recorded hash).

    ``models://PROJECT/NAME@ALIAS`` names the project in the URI (or give --project).
    """
    import windlass

    folder = windlass.download_model(model_uri, dest, project=_connect(uri, project))
    typer.echo(str(folder))
