"""The deployments store interface: deployments and their recorded revisions.

The SQL store (:mod:`windlass.store.sql.deployments`) and the REST client
(:mod:`windlass.store.rest.deployments`) implement it alike; the contract suite
``tests/store/test_deployments_contract.py`` holds both to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from windlass.entities import (
    Deployment,
    DeploymentEvent,
    Page,
    Variant,
)

#: The largest page of deployments or deployment events one call returns.
MAX_DEPLOYMENT_RESULTS = 1000


class DeploymentStore(ABC):
    """Deployments and their recorded revisions."""

    @abstractmethod
    def create_deployment(
        self,
        *,
        deployment_id: str,
        project_id: str,
        name: str,
        description: str,
        variants: list[Variant],
        shadow: Variant | None,
        claimed_by: str,
        at: int,
    ) -> Deployment:
        """Create a deployment at revision 1 and record it (action ``create``).

        A taken name raises AlreadyExists, unless the deployment holding it has this
        ``deployment_id``: then it is returned as it is (a retried create is safe).
        """

    @abstractmethod
    def get_deployment(self, project_id: str, name: str) -> Deployment:
        """Return a deployment, or raise DeploymentNotFound."""

    @abstractmethod
    def list_deployments(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[Deployment]:
        """Return a project's deployments ordered by name, one page at a time."""

    @abstractmethod
    def update_deployment(
        self,
        project_id: str,
        name: str,
        *,
        variants: list[Variant],
        shadow: Variant | None,
        action: str,
        claimed_by: str,
        at: int,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Replace variants and shadow as the next revision, and record the change.

        Atomic: the revision grows by one and the event is written in one transaction,
        under the deployment's lock, so revisions never repeat or skip. A state equal to
        the current one changes and records nothing (the deployment is returned as it
        is). Otherwise, with ``expected_revision`` given and not the current revision,
        nothing changes and Conflict is raised (``details['revision']`` is the current one).
        """

    @abstractmethod
    def deployment_history(
        self,
        project_id: str,
        name: str,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        newest_first: bool = False,
    ) -> Page[DeploymentEvent]:
        """Return a deployment's recorded changes by revision (oldest first unless asked)."""

    @abstractmethod
    def get_deployment_revision(self, project_id: str, name: str, revision: int) -> DeploymentEvent:
        """Return the recorded change that made ``revision``, or DeploymentNotFound."""

    @abstractmethod
    def delete_deployment(self, project_id: str, name: str) -> None:
        """Delete a deployment with its history, or raise DeploymentNotFound."""
