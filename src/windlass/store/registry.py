"""The model registry interface: what only registered models have.

Creating a model (with tags), changing its description, card and tags, registering a
version (files, manifest, run) and deleting one. Reading models and versions, deleting a
model and moving aliases is what every versioned kind shares:
``store.registry.objects``, a :class:`~windlass.store.versioned.VersionedStore`.
SQL (:mod:`windlass.store.sql.registry`) and REST (:mod:`windlass.store.rest.registry`)
implement both, held to ``tests/store/test_registry_contract.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from windlass.entities import AliasEvent, ArtifactEntry, ModelVersion, RegisteredModel
from windlass.principal import AuthMethod
from windlass.store.versioned import VersionedStore

#: The largest page of registered models or versions one call returns.
MAX_REGISTRY_RESULTS = 1000


class RegistryStore(ABC):
    """Registered models and their versions; the shared part is :attr:`objects`."""

    #: Models and versions read, a model deleted, aliases moved: the versioned core.
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
        registered_auth: AuthMethod = AuthMethod.LOCAL,
    ) -> ModelVersion:
        """Add the next version (1, 2, 3... without gaps or duplicates under concurrency).

        ``registered_auth`` is how the identity recorded in ``claimed_by`` was established
        (a server records its own; a client store never sends it).

        The same ``version_id`` again returns the version already created (retries are
        safe). The registered model must exist (ModelNotFound).
        """

    @abstractmethod
    def delete_model_version(self, project_id: str, name: str, version: int) -> None:
        """Delete a version; InvalidState (naming the aliases) while an alias points to it."""
