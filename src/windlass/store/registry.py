"""The model registry interface: registered models, numbered versions, aliases, history.

What every versioned kind shares (reading, listing and deleting objects, versions by
number or alias, alias moves and their history) is
:class:`~windlass.store.versioned.VersionedStore`, reached as ``store.registry.objects``;
this interface adds what only models have.

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
    RegisteredModel,
)
from windlass.store.versioned import VersionedStore

#: The largest page of registered models or versions one call returns.
MAX_REGISTRY_RESULTS = 1000


class RegistryStore(ABC):
    """Registered models and their versions; reading and aliases through :attr:`objects`."""

    #: Reading, listing and deleting objects, reading versions and moving aliases, as
    #: every versioned kind does (:class:`~windlass.store.versioned.VersionedStore`).
    objects: VersionedStore[RegisteredModel, ModelVersion, AliasEvent]

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
    def delete_model_version(self, project_id: str, name: str, version: int) -> None:
        """Delete a version; InvalidState (naming the aliases) while an alias points to it."""
