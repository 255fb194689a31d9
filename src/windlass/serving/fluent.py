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
from windlass.tracking.context import default_client

if TYPE_CHECKING:
    from windlass.serving.deployments import DeploymentService, ShadowArg, VariantLike
    from windlass.tracking.context import SdkClient


class Deployments:
    """The ``client.deployments`` namespace: create, re-weigh, promote, roll back, inspect."""

    def __init__(self, client: SdkClient) -> None:
        self._client = client
        self._service_made: DeploymentService | None = None

    def _service(self) -> DeploymentService:
        if self._service_made is None:
            from windlass.serving.deployments import DeploymentService

            self._service_made = DeploymentService(
                self._client.tracking.store,
                principal=self._client.principal,
                access=self._client.tracking.access,
            )
        return self._service_made

    def _project(self, project: str | None) -> str:
        return self._client.project_id(project)

    def create(
        self,
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
        return self._service().create(
            self._project(project), name, variants, shadow=shadow, description=description
        )

    def get(self, name: str, *, project: str | None = None) -> Deployment:
        """Return a deployment: its variants, weights, shadow and revision."""
        return self._service().get(self._project(project), name)

    def check(self, name: str, *, project: str | None = None) -> Deployment:
        """Return a deployment once every model it names resolves (else the NotFound)."""
        return self._service().check_servable(self._project(project), name)

    def list_deployments(self, *, project: str | None = None) -> list[Deployment]:
        """Return every deployment of the project, by name."""
        service = self._service()
        project_id = self._project(project)
        return all_pages(lambda token: service.list(project_id, 1000, token))

    def set_weights(
        self,
        name: str,
        weights: Mapping[str, float],
        *,
        expected_revision: int | None = None,
        project: str | None = None,
    ) -> Deployment:
        """Change the traffic weights of the named variants (the others keep theirs)."""
        return self._service().set_weights(
            self._project(project), name, weights, expected_revision=expected_revision
        )

    def set_variants(
        self,
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
        return self._service().set_variants(
            self._project(project),
            name,
            variants,
            shadow=new_shadow,
            expected_revision=expected_revision,
        )

    def set_shadow(
        self,
        name: str,
        shadow: VariantLike | None,
        *,
        expected_revision: int | None = None,
        project: str | None = None,
    ) -> Deployment:
        """Set the shadow variant (a copy of every request; answers logged) or remove it (None)."""
        return self._service().set_shadow(
            self._project(project), name, shadow, expected_revision=expected_revision
        )

    def promote(
        self,
        name: str,
        variant: str,
        *,
        expected_revision: int | None = None,
        project: str | None = None,
    ) -> Deployment:
        """Send all traffic to ``variant`` (weight 100; the others stay listed at 0).

        Promoting the shadow makes it a variant with all the traffic and removes the shadow.
        """
        return self._service().promote(
            self._project(project), name, variant, expected_revision=expected_revision
        )

    def rollback(
        self,
        name: str,
        *,
        to_revision: int | None = None,
        expected_revision: int | None = None,
        project: str | None = None,
    ) -> Deployment:
        """Restore the previous revision's variants and shadow (or ``to_revision``'s) as new."""
        return self._service().rollback(
            self._project(project),
            name,
            to_revision=to_revision,
            expected_revision=expected_revision,
        )

    def history(
        self, name: str, *, max_results: int | None = None, project: str | None = None
    ) -> list[DeploymentEvent]:
        """Return a deployment's recorded changes, oldest first (``max_results``: the newest N)."""
        service = self._service()
        project_id = self._project(project)
        if max_results is not None:
            page = service.history(project_id, name, max_results, newest_first=True)
            return page.items[::-1]
        return all_pages(lambda token: service.history(project_id, name, 1000, token))

    def delete(self, name: str, *, project: str | None = None) -> None:
        """Delete a deployment and its history (a server serving it keeps its last state)."""
        self._service().delete(self._project(project), name)


# -- the flat functions: the default client's deployments --
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
    return default_client().deployments.create(
        name, variants, shadow=shadow, description=description, project=project
    )


def get_deployment(name: str, *, project: str | None = None) -> Deployment:
    """Return a deployment: its variants, weights, shadow and revision."""
    return default_client().deployments.get(name, project=project)


def check_deployment(name: str, *, project: str | None = None) -> Deployment:
    """Return a deployment once every model it names resolves (else the NotFound)."""
    return default_client().deployments.check(name, project=project)


def list_deployments(*, project: str | None = None) -> list[Deployment]:
    """Return every deployment of the project, by name."""
    return default_client().deployments.list_deployments(project=project)


def set_deployment_weights(
    name: str,
    weights: Mapping[str, float],
    *,
    expected_revision: int | None = None,
    project: str | None = None,
) -> Deployment:
    """Change the traffic weights of the named variants (the others keep theirs)."""
    return default_client().deployments.set_weights(
        name, weights, expected_revision=expected_revision, project=project
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
    return default_client().deployments.set_variants(
        name, variants, shadow=shadow, expected_revision=expected_revision, project=project
    )


def set_deployment_shadow(
    name: str,
    shadow: VariantLike | None,
    *,
    expected_revision: int | None = None,
    project: str | None = None,
) -> Deployment:
    """Set the shadow variant (a copy of every request; answers logged) or remove it (None)."""
    return default_client().deployments.set_shadow(
        name, shadow, expected_revision=expected_revision, project=project
    )


def promote_deployment(
    name: str, variant: str, *, expected_revision: int | None = None, project: str | None = None
) -> Deployment:
    """Send all traffic to ``variant`` (weight 100; the others stay listed at 0).

    Promoting the shadow makes it a variant with all the traffic and removes the shadow.
    """
    return default_client().deployments.promote(
        name, variant, expected_revision=expected_revision, project=project
    )


def rollback_deployment(
    name: str,
    *,
    to_revision: int | None = None,
    expected_revision: int | None = None,
    project: str | None = None,
) -> Deployment:
    """Restore the previous revision's variants and shadow (or ``to_revision``'s) as new."""
    return default_client().deployments.rollback(
        name, to_revision=to_revision, expected_revision=expected_revision, project=project
    )


def get_deployment_history(
    name: str, *, max_results: int | None = None, project: str | None = None
) -> list[DeploymentEvent]:
    """Return a deployment's recorded changes, oldest first (``max_results``: the newest N)."""
    return default_client().deployments.history(name, max_results=max_results, project=project)


def delete_deployment(name: str, *, project: str | None = None) -> None:
    """Delete a deployment and its history (a server serving it keeps its last state)."""
    default_client().deployments.delete(name, project=project)
