"""The REST client's model registry, on the versioned core (:mod:`.versioned`).

Each call is one request to ``/api/v1/projects/{project}/models/...``; the server
answers through its own registry domain, so names and files are checked there again. A
registered model's id and the times (``created_at``, ``updated_at``, an alias move's
``at``) are the server's, not the ones passed here; a version's ``version_id`` is sent
as given. ``claimed_by`` is not sent: the server records the principal it derived from
the request.
"""

from __future__ import annotations

from typing import Any

from windlass.entities import AliasEvent, ArtifactEntry, ModelVersion, RegisteredModel
from windlass.exceptions import ModelVersionNotFound
from windlass.principal import AuthMethod
from windlass.store.registry import RegistryStore
from windlass.store.rest.transport import RestTransport
from windlass.store.rest.versioned import VersionedResource


class RestRegistryStore(RegistryStore):
    """Registered models, versions, aliases and alias history over the REST API."""

    def __init__(self, http: RestTransport) -> None:
        self._models = VersionedResource(
            http,
            "models",
            object_from=RegisteredModel.from_dict,
            version_from=ModelVersion.from_dict,
            noun="model",
            version_not_found=ModelVersionNotFound,
            event_from=AliasEvent.from_dict,
        )
        self.objects = self._models

    # -- registered models ---------------------------------------------------------------
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
        """Create a registered model on the server (which picks its id)."""
        body = {
            "model_id": model_id,
            "name": name,
            "description": description,
            "tags": tags,
            "exist_ok": exist_ok,
        }
        return self._models.create(project_id, body)

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
        """Change description, card or tags."""
        body = {
            "description": description,
            "card": card,
            "set_tags": set_tags,
            "delete_tags": delete_tags,
        }
        return self._models.update(project_id, name, body)

    # -- versions ------------------------------------------------------------------------
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
        """Register the next version (``version_id`` makes a retry safe).

        ``registered_auth`` is not sent: the server records how it authenticated the request.
        """
        body = {
            "version_id": version_id,
            "source": source,
            "run_id": run_id,
            "files": [f.to_dict() for f in files],
            "manifest": manifest,
            "description": description,
            "create_missing_model": False,
        }
        return self._models.create_version(project_id, name, body)

    def delete_model_version(self, project_id: str, name: str, version: int) -> None:
        """Delete a version."""
        self._models.delete_version(project_id, name, version)
