"""The model registry interface: registered models, numbered versions, aliases, history.

The SQL store (:mod:`windlass.store.sql.registry`) and the REST client
(:mod:`windlass.store.rest.registry`) implement it alike; the contract suite
``tests/store/test_registry_contract.py`` holds both to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from windlass.entities import (
    AliasEvent,
    ArtifactEntry,
    ModelVersion,
    Page,
    RegisteredModel,
)

#: The largest page of registered models or versions one call returns.
MAX_REGISTRY_RESULTS = 1000


class RegistryStore(ABC):
    """Registered models, their numbered versions, aliases and alias history."""

    @abstractmethod
    def create_registered_model(
        self,
        *,
        model_id: str,
        project_id: str,
        name: str,
        description: str,
        tags: dict[str, str],
        created_at: int,
        exist_ok: bool = False,
    ) -> RegisteredModel:
        """Create a registered model; an existing name raises AlreadyExists unless exist_ok."""

    @abstractmethod
    def get_registered_model(self, project_id: str, name: str) -> RegisteredModel:
        """Return a registered model with tags, aliases and newest version, or ModelNotFound."""

    @abstractmethod
    def list_registered_models(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        """Return a project's registered models ordered by name, one page at a time."""

    @abstractmethod
    def update_registered_model(
        self,
        project_id: str,
        name: str,
        *,
        description: str | None = None,
        card: str | None = None,
        set_tags: dict[str, str] | None = None,
        delete_tags: list[str] | None = None,
        updated_at: int,
    ) -> RegisteredModel:
        """Change description, Markdown card or tags (None leaves a field as it is)."""

    @abstractmethod
    def delete_registered_model(self, project_id: str, name: str) -> None:
        """Delete a model with its versions; InvalidState while any alias exists."""

    @abstractmethod
    def create_model_version(
        self,
        *,
        version_id: str,
        project_id: str,
        name: str,
        source: str,
        run_id: str | None,
        files: list[ArtifactEntry],
        manifest: dict[str, Any],
        description: str,
        claimed_by: str,
        created_at: int,
    ) -> ModelVersion:
        """Add the next version (1, 2, 3... without gaps or duplicates under concurrency).

        The same ``version_id`` again returns the version already created (retries are
        safe). The registered model must exist (ModelNotFound).
        """

    @abstractmethod
    def get_model_version(self, project_id: str, name: str, version: int) -> ModelVersion:
        """Return one version (with its aliases), or ModelVersionNotFound."""

    @abstractmethod
    def get_model_version_by_alias(self, project_id: str, name: str, alias: str) -> ModelVersion:
        """Return the version an alias points to, or ModelVersionNotFound naming the alias."""

    @abstractmethod
    def list_model_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[ModelVersion]:
        """Return a model's versions, newest first, one page at a time."""

    @abstractmethod
    def delete_model_version(self, project_id: str, name: str, version: int) -> None:
        """Delete a version; InvalidState (naming the aliases) while an alias points to it."""

    @abstractmethod
    def set_model_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> AliasEvent:
        """Point ``alias`` at ``version`` atomically and record the move (who, when, from, to)."""

    @abstractmethod
    def delete_model_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> AliasEvent:
        """Remove an alias and record it (``to_version`` None); a missing alias is NotFound."""

    @abstractmethod
    def alias_history(
        self, project_id: str, name: str, alias: str | None = None
    ) -> list[AliasEvent]:
        """Return every recorded alias move of a model (or of one alias), oldest first."""
