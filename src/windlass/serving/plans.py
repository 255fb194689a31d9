"""Plans: what a model server serves, read from a model URI or a stored deployment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from windlass.entities import Variant
from windlass.serving.router import Plan


def _in_project(variant: Variant, project: str | None) -> Variant:
    """Return ``variant`` with its ``models:/`` URI naming ``project`` (``None``: unchanged).

    A ``runs:/`` URI names a run by its global id and stays as it is.
    """
    from windlass.uris import with_project

    if not variant.model_uri.startswith("models:/"):
        return variant
    return replace(variant, model_uri=with_project(variant.model_uri, project))


def plan_reader(uri: str) -> Callable[[], Plan]:
    """Return a function giving the current plan for ``uri``.

    A model URI (models:/, runs:/, a folder) is one variant taking all traffic; a
    ``deployments:/NAME`` URI is the deployment's variants, weights and shadow as stored
    now (read again at every poll); ``deployments://<project>/NAME`` reads it, and its
    variants' models, in that project.
    """
    if uri.startswith("deployments:/"):
        from windlass.uris import parse_object_uri

        parsed = parse_object_uri(uri)

        def read_deployment() -> Plan:
            from windlass.serving.fluent import get_deployment

            deployment = get_deployment(parsed.name, project=parsed.project)
            # A variant's model lives in the deployment's project, wherever the server runs.
            variants = tuple(_in_project(v, parsed.project) for v in deployment.variants)
            shadow = (
                None
                if deployment.shadow is None
                else _in_project(deployment.shadow, parsed.project)
            )
            return Plan(variants, shadow, revision=str(deployment.revision))

        return read_deployment
    plan = Plan((Variant("default", uri, 1.0),))
    return lambda: plan
