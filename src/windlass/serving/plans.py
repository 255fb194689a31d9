"""Plans: what a model server serves, read from a model URI or a stored deployment."""

from __future__ import annotations

from collections.abc import Callable

from windlass.model_entities import Variant
from windlass.serving.router import Plan


def plan_reader(uri: str) -> Callable[[], Plan]:
    """Return a function giving the current plan for ``uri``.

    A model URI (models:/, runs:/, a folder) is one variant taking all traffic; a
    ``deployments:/NAME`` URI is the deployment's variants, weights and shadow as stored
    now (read again at every poll).
    """
    if uri.startswith("deployments:/"):
        from windlass.uris import parse_object_uri

        name = parse_object_uri(uri).name

        def read_deployment() -> Plan:
            from windlass.serving.fluent import get_deployment

            deployment = get_deployment(name)
            return Plan(tuple(deployment.variants), deployment.shadow,
                        revision=str(deployment.revision))

        return read_deployment
    plan = Plan((Variant("default", uri, 1.0),))
    return lambda: plan
