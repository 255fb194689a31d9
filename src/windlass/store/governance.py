"""The governance store: a project's settings and the pending moves of protected aliases.

A project's settings (its protected aliases, whether two-person review is on) live on the
project row and are read with it (:meth:`~windlass.store.runs.RunStore.get_project`); this
interface changes them and keeps the alias requests two-person review creates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from windlass.entities import Project
from windlass.entities.governance import AliasRequest

__all__ = ["GovernanceStore"]


class GovernanceStore(ABC):
    """Project settings and alias requests."""

    @abstractmethod
    def update_project_settings(
        self,
        project_id: str,
        *,
        protected_aliases: tuple[str, ...] | None = None,
        two_person_review: bool | None = None,
    ) -> Project:
        """Change the settings given (None: keep); return the project, or ProjectNotFound."""

    @abstractmethod
    def create_alias_request(self, request: AliasRequest) -> AliasRequest:
        """Store a new pending request and return it."""

    @abstractmethod
    def get_alias_request(self, project_id: str, request_id: str) -> AliasRequest:
        """Return one request of the project, or NotFound."""

    @abstractmethod
    def list_alias_requests(self, project_id: str, state: str | None = None) -> list[AliasRequest]:
        """Return the project's requests (of one state), oldest first."""

    @abstractmethod
    def decide_alias_request(
        self, project_id: str, request_id: str, *, state: str, decided_by: str, at: int
    ) -> AliasRequest:
        """Mark a pending request approved or rejected; InvalidState if it is not pending."""
