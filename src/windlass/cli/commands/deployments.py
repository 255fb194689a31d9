"""``windlass deployments``: create, re-weigh, promote, roll back and inspect deployments.

Commands: create, set-weights, set-variants, set-shadow, promote, rollback, status,
history, ls, delete. Variants are written ``NAME=MODEL_URI[:WEIGHT]``, for example
``champion=models:/churn@champion:90``; give a weight to every variant or to none (then
they share traffic equally).
"""

from __future__ import annotations

import math
from typing import Any

import typer

from windlass.cli.context import JSON_OPTION, PROJECT_OPTION, URI_OPTION, connect
from windlass.cli.render import console, print_items, print_json, table
from windlass.entities import Deployment, DeploymentEvent, iso
from windlass.exceptions import InvalidInput

app = typer.Typer(
    help="Deployments: weighted model variants, shadow traffic, rollbacks.", no_args_is_help=True
)

VARIANT_HELP = "A variant NAME=MODEL_URI[:WEIGHT], e.g. champion=models:/churn@champion:90."


def _connect(uri: str | None, project: str | None) -> str | None:
    """Point the SDK at ``--uri`` (an existing store) and return the project to use."""
    connect(uri, must_exist=True)
    return project


def _number(text: str, what: str) -> float:
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise InvalidInput(f"{what}: {text!r} is not a number") from None
    return value


def parse_variant(text: str) -> tuple[str, str, float | None]:
    """Split ``NAME=MODEL_URI[:WEIGHT]`` into its parts (weight None when not given)."""
    name, sep, rest = text.partition("=")
    if not sep or not name or not rest:
        raise InvalidInput(
            f"variant {text!r}: write NAME=MODEL_URI[:WEIGHT], e.g. "
            "champion=models:/churn@champion:90",
            variant=text,
        )
    uri, colon, weight = rest.rpartition(":")
    if colon and uri and not weight.startswith("/"):
        try:
            return name, uri, _number(weight, f"variant {name!r} weight")
        except InvalidInput:
            pass  # the last ':' belongs to the URI (models:/...)
    return name, rest, None


def parse_variants(texts: list[str]) -> list[dict[str, Any]]:
    """Parse ``--variant`` options; every variant has a weight or none has."""
    parsed = [parse_variant(t) for t in texts]
    if not parsed:
        raise InvalidInput("give at least one --variant NAME=MODEL_URI[:WEIGHT]")
    given = [w is not None for _n, _u, w in parsed]
    if any(given) and not all(given):
        missing = [n for n, _u, w in parsed if w is None]
        raise InvalidInput(
            f"give a weight to every variant or to none; missing for "
            f"{', '.join(map(repr, missing))}",
            variants=missing,
        )
    return [{"name": n, "model_uri": u, "weight": w} for n, u, w in parsed]


def _shadow(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    name, uri, _weight = parse_variant(text)
    return {"name": name, "model_uri": uri}


def _share(weight: float, total: float) -> str:
    return f"{100 * weight / total:.4g}%" if total > 0 and math.isfinite(total) else "-"


def _summary(deployment: Deployment, action: str | None = None) -> str:
    total = sum(v.weight for v in deployment.variants)
    parts = ", ".join(
        f"{v.name} {_share(v.weight, total)} ({v.model_uri})" for v in deployment.variants
    )
    shadow = (
        ""
        if deployment.shadow is None
        else f"; shadow {deployment.shadow.name} ({deployment.shadow.model_uri})"
    )
    what = f" ({action})" if action else ""
    return f"{deployment.name} revision {deployment.revision}{what}: {parts}{shadow}"


def _done(deployment: Deployment, as_json: bool, action: str) -> None:
    if as_json:
        print_json(deployment.to_dict())
    else:
        console.print(_summary(deployment, action), markup=False, highlight=False)


def _event_state(event: DeploymentEvent) -> str:
    text = ", ".join(f"{v.name}={v.weight:g}" for v in event.variants)
    return text if event.shadow is None else f"{text}; shadow {event.shadow.name}"


def _history_table(title: str, events: list[DeploymentEvent]) -> None:
    table(
        title,
        ["revision", "action", "variants", "claimed by", "when"],
        [[e.revision, e.action, _event_state(e), e.claimed_by, iso(e.at)] for e in events],
    )


@app.command("create")
def create(
    name: str,
    variant: list[str] = typer.Option(..., "--variant", help=VARIANT_HELP),
    shadow: str = typer.Option(
        None,
        "--shadow",
        help="A shadow NAME=MODEL_URI: gets a copy of every request, answers logged only.",
    ),
    description: str = typer.Option("", "--description", "-d"),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a deployment from weighted variants (and an optional shadow)."""
    import windlass.serving.fluent as sdk

    created = sdk.create_deployment(
        name,
        parse_variants(variant),
        shadow=_shadow(shadow),
        description=description,
        project=_connect(uri, project),
    )
    _done(created, as_json, "create")


@app.command("set-weights")
def set_weights(
    name: str,
    weights: list[str] = typer.Argument(
        ...,
        metavar="VARIANT=WEIGHT...",
        help="New weights, e.g. champion=90 challenger=10 (others keep theirs).",
    ),
    expected_revision: int = typer.Option(
        None, "--expected-revision", help="Fail if the deployment moved past this revision."
    ),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Change the traffic weights of some variants."""
    import windlass.serving.fluent as sdk

    parsed: dict[str, float] = {}
    for text in weights:
        variant, sep, value = text.partition("=")
        if not sep or not variant:
            raise InvalidInput(f"{text!r}: write VARIANT=WEIGHT, e.g. challenger=10")
        parsed[variant] = _number(value, f"variant {variant!r} weight")
    changed = sdk.set_deployment_weights(
        name, parsed, expected_revision=expected_revision, project=_connect(uri, project)
    )
    _done(changed, as_json, "set_weights")


@app.command("set-variants")
def set_variants(
    name: str,
    variant: list[str] = typer.Option(..., "--variant", help=VARIANT_HELP),
    shadow: str = typer.Option(None, "--shadow", help="Replace the shadow (NAME=MODEL_URI)."),
    no_shadow: bool = typer.Option(False, "--no-shadow", help="Remove the shadow."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Replace all variants (the shadow stays unless --shadow or --no-shadow)."""
    import windlass.serving.fluent as sdk

    if shadow is not None and no_shadow:
        raise InvalidInput("give --shadow or --no-shadow, not both")
    new_shadow: Any = None if no_shadow else ("keep" if shadow is None else _shadow(shadow))
    changed = sdk.set_deployment_variants(
        name, parse_variants(variant), shadow=new_shadow, project=_connect(uri, project)
    )
    _done(changed, as_json, "set_variants")


@app.command("set-shadow")
def set_shadow(
    name: str,
    shadow: str = typer.Argument(None, metavar="[SHADOW=MODEL_URI]", help="The new shadow."),
    remove: bool = typer.Option(False, "--remove", help="Remove the shadow."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Set the shadow variant (a copy of every request, answers logged) or --remove it."""
    import windlass.serving.fluent as sdk

    if (shadow is None) == (not remove):
        raise InvalidInput("give a shadow NAME=MODEL_URI or --remove (one of them)")
    changed = sdk.set_deployment_shadow(name, _shadow(shadow), project=_connect(uri, project))
    _done(changed, as_json, "set_shadow")


@app.command("promote")
def promote(
    name: str,
    variant: str = typer.Argument(..., help="The variant (or shadow) to send all traffic to."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Send all traffic to one variant (the others stay listed at weight 0)."""
    import windlass.serving.fluent as sdk

    _done(sdk.promote_deployment(name, variant, project=_connect(uri, project)), as_json, "promote")


@app.command("rollback")
def rollback(
    name: str,
    to: int = typer.Option(
        None, "--to", metavar="REVISION", help="Restore this revision (default: the previous one)."
    ),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Restore an earlier revision's variants and shadow, as a new revision."""
    import windlass.serving.fluent as sdk

    _done(
        sdk.rollback_deployment(name, to_revision=to, project=_connect(uri, project)),
        as_json,
        "rollback",
    )


@app.command("status")
def status(
    name: str,
    recent: int = typer.Option(
        5, "--history", "-n", min=1, max=1000, help="How many recent changes to show."
    ),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a deployment: variants, weights and shares, shadow, revision, recent changes."""
    import windlass.serving.fluent as sdk

    project = _connect(uri, project)
    deployment = sdk.get_deployment(name, project=project)
    events = sdk.get_deployment_history(name, max_results=recent, project=project)
    if as_json:
        print_json({**deployment.to_dict(), "history": [e.to_dict() for e in events]})
        return
    total = sum(v.weight for v in deployment.variants)
    rows: list[list[Any]] = [
        [v.name, v.model_uri, f"{v.weight:g}", _share(v.weight, total)] for v in deployment.variants
    ]
    if deployment.shadow is not None:
        rows.append(
            [f"{deployment.shadow.name} (shadow)", deployment.shadow.model_uri, "-", "copy"]
        )
    table(
        f"deployment {deployment.name} · revision {deployment.revision} · updated "
        f"{iso(deployment.updated_at)}",
        ["variant", "model", "weight", "traffic"],
        rows,
    )
    if deployment.description:
        console.print(deployment.description, markup=False, highlight=False)
    _history_table("recent changes", events)


@app.command("history")
def history(
    name: str,
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show every recorded change of a deployment, oldest first."""
    import windlass.serving.fluent as sdk

    events = sdk.get_deployment_history(name, project=_connect(uri, project))
    if as_json:
        print_items(events)
        return
    _history_table(f"history of {name}", events)


@app.command("ls")
def list_deployments(
    project: str | None = PROJECT_OPTION, uri: str | None = URI_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """List the deployments of a project."""
    import windlass.serving.fluent as sdk

    found = sdk.list_deployments(project=_connect(uri, project))
    if as_json:
        print_items(found)
        return
    rows = []
    for d in found:
        total = sum(v.weight for v in d.variants)
        rows.append(
            [
                d.name,
                d.revision,
                ", ".join(f"{v.name} {_share(v.weight, total)}" for v in d.variants),
                "" if d.shadow is None else d.shadow.name,
                iso(d.updated_at),
            ]
        )
    table("deployments", ["name", "revision", "traffic", "shadow", "updated"], rows)


@app.command("delete")
def delete(
    name: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
) -> None:
    """Delete a deployment and its history."""
    import windlass.serving.fluent as sdk

    project = _connect(uri, project)
    if not yes:
        typer.confirm(f"delete deployment {name} and its history?", abort=True)
    sdk.delete_deployment(name, project=project)
    console.print(f"deleted deployment {name}", markup=False, highlight=False)
