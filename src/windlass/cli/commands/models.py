"""``windlass models``: ls, show, versions, alias, card, delete, download."""

from __future__ import annotations

from pathlib import Path

import typer

from windlass.cli.context import JSON_OPTION, PROJECT_OPTION, URI_OPTION, connect, run_id_resolver
from windlass.cli.render import console, print_items, print_json, short_ids, table
from windlass.entities import iso
from windlass.exceptions import InvalidInput

app = typer.Typer(help="Model registry: models, versions, aliases, cards.", no_args_is_help=True)


def _connect(uri: str | None, project: str | None) -> str | None:
    """Point the SDK at ``--uri`` (an existing store) and return the project to use."""
    connect(uri, must_exist=True)
    return project


@app.command("ls")
def list_models(
    project: str | None = PROJECT_OPTION, uri: str | None = URI_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """List the registered models of a project."""
    import windlass

    models = windlass.list_registered_models(project=_connect(uri, project))
    if as_json:
        print_items(models)
        return
    table(
        "registered models",
        ["name", "latest", "aliases", "description", "updated"],
        [
            [
                m.name,
                m.latest_version,
                ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())),
                m.description,
                iso(m.updated_at),
            ]
            for m in models
        ],
    )


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


@app.command("versions")
def list_versions(
    name: str,
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List a model's versions, newest first, with their run, flavor and aliases."""
    import windlass

    versions = windlass.list_model_versions(name, project=_connect(uri, project))
    if as_json:
        print_items(versions)
        return
    runs = short_ids([v.run_id for v in versions if v.run_id], run_id_resolver(uri))
    table(
        f"versions of {name}",
        ["version", "aliases", "flavor", "run", "claimed by", "created"],
        [
            [
                v.version,
                ", ".join(v.aliases),
                ", ".join(v.manifest.get("flavors") or {}),
                runs.get(v.run_id or "", ""),
                v.claimed_by,
                iso(v.created_at),
            ]
            for v in versions
        ],
        keep=("run",),
    )


@app.command("alias")
def alias(
    name: str,
    alias_name: str = typer.Argument(None, metavar="ALIAS", help="Alias to set or drop."),
    version: int = typer.Argument(None, help="Version the alias should point to."),
    delete: bool = typer.Option(False, "--delete", help="Remove the alias."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Set (NAME ALIAS VERSION), remove (--delete) or show the history of aliases (NAME)."""
    import windlass

    project = _connect(uri, project)
    if alias_name is not None and (version is not None or delete):
        if delete and version is not None:
            raise InvalidInput("give a VERSION to move the alias, or --delete, not both")
        event = (
            windlass.delete_alias(name, alias_name, project=project)
            if delete
            else windlass.set_alias(name, alias_name, version, project=project)
        )
        if as_json:
            print_json(event.to_dict())
        else:
            console.print(
                f"{name}@{event.alias}: {event.from_version} → {event.to_version}",
                markup=False,
                highlight=False,
            )
        return
    history = windlass.get_alias_history(name, alias_name, project=project)
    if as_json:
        print_items(history)
        return
    table(
        f"alias history of {name}",
        ["when", "alias", "from", "to", "claimed by"],
        [[iso(e.at), e.alias, e.from_version, e.to_version, e.claimed_by] for e in history],
    )


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
