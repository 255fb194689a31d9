"""``windlass prompts``: list, show, diff, alias, render and sync versioned prompts.

Commands: ls, show, versions, diff, alias (set, ``--delete``, ``--history``), render,
push (a folder of YAML prompt files, one new version per changed file) and pull (versions
to YAML files). A prompt version is named ``NAME`` (the newest), ``NAME/3`` or
``NAME@production``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from windlass.cli.commands.versioned import (
    add_alias_command,
    add_list_command,
    add_versions_command,
)
from windlass.cli.context import JSON_OPTION, PROJECT_OPTION, URI_OPTION, connect
from windlass.cli.render import console, print_items, print_json, table
from windlass.entities import AliasMove, Prompt, PromptVersion, Template, iso
from windlass.exceptions import InvalidInput

app = typer.Typer(
    help="Prompt registry: versioned templates bound to model settings, "
    "aliases, diffs, YAML files.",
    no_args_is_help=True,
)

REF_HELP = (
    "The prompt version: NAME (the newest), NAME/VERSION or NAME@ALIAS; "
    "prompts://PROJECT/NAME@ALIAS names the project."
)


def _connect(uri: str | None, project: str | None, *, must_exist: bool = True) -> str | None:
    """Point the SDK at ``--uri`` and return the project to use.

    Every command but ``push`` needs an existing store (it never creates one).
    """
    connect(uri, must_exist=must_exist)
    return project


def _say(text: str, style: str | None = None) -> None:
    # soft_wrap: a template or rendered prompt is printed as it is, never re-wrapped.
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def _setting(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


# -- variables ---------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """Return ``text`` parsed as JSON when it parses (``42``, ``true``, ``[1]``), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_vars(texts: list[str]) -> dict[str, Any]:
    """Parse ``--var KEY=VALUE`` options (a key given twice keeps its last value)."""
    values: dict[str, Any] = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(
                f"--var {text!r}: write KEY=VALUE, e.g. product=Acme or n=3", var=text
            )
        values[key.strip()] = parse_value(value)
    return values


def read_vars_file(path: Path) -> dict[str, Any]:
    """Return the variables of a JSON (``.json``) or YAML file holding one mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"--vars-file {path}: not UTF-8 text ({exc.reason})", file=str(path)
        ) from None
    except OSError as exc:
        raise InvalidInput(
            f"--vars-file {path}: cannot read the file: {exc.strerror}", file=str(path)
        ) from None
    import yaml

    kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
    try:
        data = json.loads(text) if kind == "JSON" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidInput(f"--vars-file {path}: not valid {kind}: {exc}", file=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise InvalidInput(
            f"--vars-file {path}: holds a {type(data).__name__}; give a "
            "mapping of variable names to values",
            file=str(path),
        )
    return data


# -- ls, show, versions ------------------------------------------------------------------
def _list_prompts(project: str | None) -> list[Prompt]:
    import windlass.genai.prompts.fluent as sdk  # when a command runs, not at CLI start

    return sdk.list_prompts(project=project)


add_list_command(app, "prompts", _list_prompts)


def _print_template(template: Template) -> None:
    if isinstance(template, str):
        _say("[template]", "bold")
        _say(template)
        return
    for message in template:
        _say(f"[{message['role']}]", "bold")
        _say(message["content"])


def _print_version(version: PromptVersion) -> None:
    aliases = f" · aliases {', '.join(version.aliases)}" if version.aliases else ""
    _say(f"{version.name}/{version.version} · {version.kind} prompt{aliases}", "bold")
    facts = [
        ("claimed by", version.claimed_by),
        ("created", iso(version.created_at)),
        ("message", version.commit_message),
        ("hash", version.content_hash),
    ]
    facts += [(f"model.{key}", _setting(value)) for key, value in sorted(version.model.items())]
    if version.response_format is not None:
        facts.append(("response_format", _setting(version.response_format)))
    width = max(len(key) for key, _value in facts)
    for key, value in facts:
        _say(f"{key + ':':<{width + 1}} {value or ''}".rstrip())
    _say("")
    _print_template(version.template)
    if version.variables:
        table(
            "variables",
            ["name", "type", "required", "default"],
            [
                [
                    name,
                    v.type,
                    "yes" if v.required else "no",
                    _setting(v.default) if v.has_default else "",
                ]
                for name, v in version.variables.items()
            ],
        )


@app.command("show")
def show(
    ref: str = typer.Argument(..., metavar="NAME[/VERSION|@ALIAS]", help=REF_HELP),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a version: template or messages, model settings, variables, who, when, hash."""
    import windlass.genai.prompts.fluent as sdk

    version = sdk.load(ref, project=_connect(uri, project))
    if as_json:
        print_json(version.to_dict())
    else:
        _print_version(version)


def _version_row(v: PromptVersion) -> list[Any]:
    return [
        v.version,
        iso(v.created_at),
        v.claimed_by,
        v.commit_message,
        ", ".join(v.aliases),
        v.content_hash[:12],
    ]


add_versions_command(
    app,
    "prompt",
    "windlass.genai.prompts.fluent",
    ["version", "created", "claimed by", "message", "aliases", "hash"],
    lambda _versions, _uri: _version_row,
)


# -- diff, alias -------------------------------------------------------------------------
@app.command("diff")
def diff(
    name: str,
    old: str = typer.Argument(..., metavar="A", help="A version number or alias."),
    new: str = typer.Argument(..., metavar="B", help="A version number or alias."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a unified diff of two versions: messages, then model settings and variables."""
    import windlass.genai.prompts.fluent as sdk

    text = sdk.diff(name, old, new, project=_connect(uri, project))
    if as_json:
        print_json({"name": name, "old": old, "new": new, "diff": text})
        return
    if not text:
        _say(f"{name}: {old} and {new} have the same content")
        return
    for line in text.splitlines():
        style = (
            "bold"
            if line.startswith(("---", "+++"))
            else "green"
            if line.startswith("+")
            else "red"
            if line.startswith("-")
            else "cyan"
            if line.startswith("@@")
            else None
        )
        _say(line, style)


def _move(event: AliasMove) -> str:
    where = f"{event.object_name}@{event.alias}"
    if event.to_version is None:
        return f"{where} removed (was version {event.from_version})"
    if event.from_version == event.to_version:
        return f"{where} already names version {event.to_version}"
    start = "" if event.from_version is None else f" (was version {event.from_version})"
    return f"{where} → version {event.to_version}{start}"


add_alias_command(app, "windlass.genai.prompts.fluent", _move)


# -- render ------------------------------------------------------------------------------
@app.command("render")
def render(
    ref: str = typer.Argument(..., metavar="NAME[/VERSION|@ALIAS]", help=REF_HELP),
    var: list[str] = typer.Option(
        [],
        "--var",
        metavar="KEY=VALUE",
        help="A variable; the value is JSON when it parses "
        "(42, true, [1, 2]), else text. Repeatable.",
    ),
    vars_file: Path = typer.Option(
        None, "--vars-file", help="A JSON or YAML file mapping variables to values (--var wins)."
    ),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Render a version with variables: the text, or the chat messages."""
    import windlass.genai.prompts.fluent as sdk

    values = {**(read_vars_file(vars_file) if vars_file is not None else {}), **parse_vars(var)}
    version = sdk.load(ref, project=_connect(uri, project))
    # Rendering the loaded version (not sdk.render) lets a variable be named ``project``.
    rendered = version.render(**values)
    if as_json:
        print_json({"name": version.name, "version": version.version, "rendered": rendered})
    elif isinstance(rendered, str):
        _say(rendered)
    else:
        for message in rendered:
            _say(f"[{message['role']}]", "bold")
            _say(message["content"])


# -- files -------------------------------------------------------------------------------
@app.command("push")
def push(
    folder: Path = typer.Argument(..., help="A folder of <name>.yaml prompt files."),
    message: str = typer.Option(
        None,
        "--message",
        "-m",
        help="Commit message of the new versions (default: push <file name>).",
    ),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Register every changed prompt file as a new version (unchanged files create nothing)."""
    import windlass.genai.prompts.fluent as sdk

    results = sdk.push(
        folder, commit_message=message, project=_connect(uri, project, must_exist=False)
    )
    if as_json:
        print_items(results)
        return
    for result in results:
        _say(f"{result.status:<9} {result.name}/{result.version}  ({result.path.name})")
    created = sum(r.created for r in results)
    _say(f"{created} created, {len(results) - created} unchanged")


@app.command("pull")
def pull(
    refs: list[str] = typer.Argument(
        ..., metavar="NAME[/VERSION|@ALIAS]...", help="The versions to write (NAME: the newest)."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Folder to write <name>.yaml files to (created if missing)."
    ),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write prompt versions to YAML files, to review in git and push back."""
    import windlass.genai.prompts.fluent as sdk
    from windlass.genai.prompts.registry import parse_ref, ref_project
    from windlass.uris import pick_project

    project = _connect(uri, project)
    # A bad reference (or one naming another project than --project) stops all writes.
    parsed = [(ref, *parse_ref(ref), pick_project(ref_project(ref), project, ref)) for ref in refs]
    written = []
    for ref, name, version, alias_name, ref_in in parsed:
        path = sdk.pull(name, output, version=version, alias=alias_name, project=ref_in)
        written.append({"ref": ref, "name": name, "path": str(path)})
        if not as_json:
            _say(f"wrote {path} ({ref})")
    if as_json:
        print_items(written)
