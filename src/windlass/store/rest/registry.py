"""The REST client's model registry and run inputs .

Each call is one request to ``/api/v1/projects/{project}/models/...`` or
``/api/v1/runs/{id}/inputs``; the server answers through its own registry domain, so
names and files are checked there again. A registered model's id and the times
(``created_at``, ``updated_at``, an alias move's ``at``) are the server's, not the ones
passed here; a version's ``version_id`` and ``claimed_by`` and an alias move's
``claimed_by`` are sent as given (the server records the names as claims).
"""

from __future__ import annotations

from typing import Any

from windlass.entities import (
    AliasEvent,
    ArtifactEntry,
    ModelVersion,
    Page,
    RegisteredModel,
)
from windlass.store.registry import RegistryStore
from windlass.store.rest.transport import RestTransport, paging, segment


class RestRegistryStore(RegistryStore):
    """Registered models, versions, aliases and run inputs over the REST API."""

    def __init__(self, http: RestTransport) -> None:
        self._http = http

    @staticmethod
    def _models(project_id: str, name: str | None = None) -> str:
        path = f"/api/v1/projects/{segment(project_id)}/models"
        return path if name is None else f"{path}/{segment(name)}"

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
        return RegisteredModel.from_dict(
            self._http.request(
                "POST",
                self._models(project_id),
                json={"name": name, "description": description, "tags": tags, "exist_ok": exist_ok},
            )
        )

    def get_registered_model(self, project_id: str, name: str) -> RegisteredModel:
        """Return a registered model."""
        return RegisteredModel.from_dict(self._http.request("GET", self._models(project_id, name)))

    def list_registered_models(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        """Return one page of a project's registered models, by name."""
        params = paging(max_results, page_token)
        body = self._http.request("GET", self._models(project_id), params=params)
        return Page(
            [RegisteredModel.from_dict(m) for m in body["models"]], body.get("next_page_token")
        )

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
        return RegisteredModel.from_dict(
            self._http.request(
                "PATCH",
                self._models(project_id, name),
                json={
                    "description": description,
                    "card": card,
                    "set_tags": set_tags,
                    "delete_tags": delete_tags,
                },
            )
        )

    def delete_registered_model(self, project_id: str, name: str) -> None:
        """Delete a model with its versions."""
        self._http.request("DELETE", self._models(project_id, name))

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
    ) -> ModelVersion:
        """Register the next version (``version_id`` makes a retry safe)."""
        return ModelVersion.from_dict(
            self._http.request(
                "POST",
                f"{self._models(project_id, name)}/versions",
                json={
                    "version_id": version_id,
                    "source": source,
                    "run_id": run_id,
                    "files": [f.to_dict() for f in files],
                    "manifest": manifest,
                    "description": description,
                    "claimed_by": claimed_by,
                    "create_missing_model": False,
                },
            )
        )

    def get_model_version(self, project_id: str, name: str, version: int) -> ModelVersion:
        """Return one version."""
        return ModelVersion.from_dict(
            self._http.request("GET", f"{self._models(project_id, name)}/versions/{int(version)}")
        )

    def get_model_version_by_alias(self, project_id: str, name: str, alias: str) -> ModelVersion:
        """Return the version an alias points to."""
        return ModelVersion.from_dict(
            self._http.request("GET", f"{self._models(project_id, name)}/aliases/{segment(alias)}")
        )

    def list_model_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[ModelVersion]:
        """Return one page of a model's versions, newest first."""
        params = paging(max_results, page_token)
        body = self._http.request(
            "GET", f"{self._models(project_id, name)}/versions", params=params
        )
        return Page(
            [ModelVersion.from_dict(v) for v in body["versions"]], body.get("next_page_token")
        )

    def delete_model_version(self, project_id: str, name: str, version: int) -> None:
        """Delete a version."""
        self._http.request("DELETE", f"{self._models(project_id, name)}/versions/{int(version)}")

    # -- aliases -------------------------------------------------------------------------
    def set_model_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> AliasEvent:
        """Point an alias at a version."""
        return AliasEvent.from_dict(
            self._http.request(
                "PUT",
                f"{self._models(project_id, name)}/aliases/{segment(alias)}",
                json={"version": version, "claimed_by": claimed_by},
            )
        )

    def delete_model_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> AliasEvent:
        """Remove an alias."""
        return AliasEvent.from_dict(
            self._http.request(
                "DELETE",
                f"{self._models(project_id, name)}/aliases/{segment(alias)}",
                params={"claimed_by": claimed_by},
            )
        )

    def alias_history(
        self, project_id: str, name: str, alias: str | None = None
    ) -> list[AliasEvent]:
        """Return the recorded alias moves, oldest first."""
        params = {} if alias is None else {"alias": alias}
        body = self._http.request(
            "GET", f"{self._models(project_id, name)}/alias-history", params=params
        )
        return [AliasEvent.from_dict(e) for e in body["events"]]
