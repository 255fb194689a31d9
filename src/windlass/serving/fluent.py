"""The deployments SDK: create, re-weigh, promote, roll back and inspect deployments.

A deployment is a named set of variants (a model URI and a traffic weight each) plus an
optional shadow that gets a copy of every request. Every function works in the current
project (or ``project=``), embedded or against a server alike; every change becomes the
deployment's next revision and is recorded with who made it and when. See
:mod:`windlass.serving.deployments` for the rules.

Variants are :class:`~windlass.Variant` objects or mappings with ``name``, ``model_uri``
and ``weight``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from windlass.entities import Deployment, DeploymentEvent, all_pages
from windlass.tracking import fluent as tracking_fluent

if TYPE_CHECKING:
    from windlass.serving.deployments import DeploymentService, ShadowArg, VariantLike

_services: dict[int, DeploymentService] = {}


def _service() -> DeploymentService:
    tracking = tracking_fluent._tracking()
    service = _services.get(id(tracking))
    if service is None or service.store is not tracking.store:
        from windlass.serving.deployments import DeploymentService

        service = DeploymentService(tracking.store)
        _services.clear()
        _services[id(tracking)] = service
    return service


def _project(project: str | None) -> str:
    return tracking_fluent._project_id(project or tracking_fluent.current_project())


def create_deployment(
    name: str,
    variants: Sequence[VariantLike],
    *,
    shadow: VariantLike | None = None,
    description: str = "",
    project: str | None = None,
) -> Deployment:
    """Create a deployment; each variant's model URI must name an existing model.

    Variants given without any weight share traffic equally. ``shadow`` gets a copy of
    every request; its answers are logged, never returned.
    """
    return _service().create(
        _project(project), name, variants, shadow=shadow, description=description
    )


def get_deployment(name: str, *, project: str | None = None) -> Deployment:
    """Return a deployment: its variants, weights, shadow and revision."""
    return _service().get(_project(project), name)


def check_deployment(name: str, *, project: str | None = None) -> Deployment:
    """Return a deployment once every model it names resolves (else the NotFound)."""
    return _service().check_servable(_project(project), name)


def list_deployments(*, project: str | None = None) -> list[Deployment]:
    """Return every deployment of the project, by name."""
    service = _service()
    project_id = _project(project)
    return all_pages(lambda token: service.list(project_id, 1000, token))


def set_deployment_weights(
    name: str,
    weights: Mapping[str, float],
    *,
    expected_revision: int | None = None,
    project: str | None = None,
) -> Deployment:
    """Change the traffic weights of the named variants (the others keep theirs)."""
    return _service().set_weights(
        _project(project), name, weights, expected_revision=expected_revision
    )


def set_deployment_variants(
    name: str,
    variants: Sequence[VariantLike],
    *,
    shadow: VariantLike | Literal["keep"] | None = "keep",
    expected_revision: int | None = None,
    project: str | None = None,
) -> Deployment:
    """Replace a deployment's variants; ``shadow`` replaces the shadow too (None removes it).

    By default (``"keep"``) the shadow stays as it is.
    """
    from windlass.serving.deployments import KEEP

    new_shadow: ShadowArg = KEEP if isinstance(shadow, str) and shadow == "keep" else shadow
    return _service().set_variants(
        _project(project), name, variants, shadow=new_shadow, expected_revision=expected_revision
    )


def set_deployment_shadow(
    name: str,
    shadow: VariantLike | None,
    *,
    expected_revision: int | None = None,
    project: str | None = None,
) -> Deployment:
    """Set the shadow variant (a copy of every request; answers logged) or remove it (None)."""
    return _service().set_shadow(
        _project(project), name, shadow, expected_revision=expected_revision
    )


def promote_deployment(
    name: str, variant: str, *, expected_revision: int | None = None, project: str | None = None
) -> Deployment:
    """Send all traffic to ``variant`` (weight 100; the others stay listed at 0).

    Promoting the shadow makes it a variant with all the traffic and removes the shadow.
    """
    return _service().promote(_project(project), name, variant, expected_revision=expected_revision)


def rollback_deployment(
    name: str,
    *,
    to_revision: int | None = None,
    expected_revision: int | None = None,
    project: str | None = None,
) -> Deployment:
    """Restore the previous revision's variants and shadow (or ``to_revision``'s) as new."""
    return _service().rollback(
        _project(project), name, to_revision=to_revision, expected_revision=expected_revision
    )


def get_deployment_history(
    name: str, *, max_results: int | None = None, project: str | None = None
) -> list[DeploymentEvent]:
    """Return a deployment's recorded changes, oldest first (``max_results``: the newest N)."""
    service = _service()
    project_id = _project(project)
    if max_results is not None:
        page = service.history(project_id, name, max_results, newest_first=True)
        return page.items[::-1]
    return all_pages(lambda token: service.history(project_id, name, 1000, token))


def delete_deployment(name: str, *, project: str | None = None) -> None:
    """Delete a deployment and its history (a server serving it keeps its last state)."""
    _service().delete(_project(project), name)
