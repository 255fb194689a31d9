"""The REST client's model registry and run inputs (a base class of :class:`RestStore`).

Each call is one request to ``/api/v1/projects/{project}/models/...`` or
``/api/v1/runs/{id}/inputs``; the server answers through its own registry domain, so
names and files are checked there again. The times (``created_at``, ``updated_at``,
an alias move's ``at``) are the server's, not the ones
passed here; a model's ``model_id``, a version's ``version_id`` and ``claimed_by`` and an
alias move's ``claimed_by`` are sent as given (the server records the names as claims), so
a create retried after a lost response creates one object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from windlass.entities import (
    AliasEvent,
    ArtifactEntry,
    DatasetInput,
    ModelVersion,
    Page,
    RegisteredModel,
)
from windlass.exceptions import ModelVersionNotFound
from windlass.store.base import MetadataStore


def _seg(value: str) -> str:
    """Return ``value`` as one URL path segment."""
    return quote(value, safe="")


class RestRegistry(MetadataStore):
    """Registered models, versions, aliases and run inputs over the REST API."""

    if TYPE_CHECKING:

        def request(
            self,
            method: str,
            path: str,
            *,
            json: Any = None,
            params: dict[str, Any] | None = None,
            gone_ok: bool = False,
        ) -> Any:
            """Send one API request and return its decoded body (RestStore's)."""

    @staticmethod
    def _models(project_id: str, name: str | None = None) -> str:
        path = f"/api/v1/projects/{_seg(project_id)}/models"
        return path if name is None else f"{path}/{_seg(name)}"

    # -- run inputs ----------------------------------------------------------------------
    def log_inputs(self, run_id: str, inputs: list[DatasetInput]) -> None:
        """Record datasets a run read."""
        self.request(
            "POST",
            f"/api/v1/runs/{_seg(run_id)}/inputs",
            json={"inputs": [d.to_dict() for d in inputs]},
        )

    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        """Return the datasets a run read, in the order they were first logged."""
        body = self.request("GET", f"/api/v1/runs/{_seg(run_id)}/inputs")
        return [DatasetInput.from_dict(d) for d in body["inputs"]]

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
        """Create a registered model on the server (``model_id`` makes a retry safe)."""
        return RegisteredModel.from_dict(
            self.request(
                "POST",
                self._models(project_id),
                json={
                    "model_id": model_id,
                    "name": name,
                    "description": description,
                    "tags": tags,
                    "exist_ok": exist_ok,
                },
            )
        )

    def get_registered_model(self, project_id: str, name: str) -> RegisteredModel:
        """Return a registered model."""
        return RegisteredModel.from_dict(self.request("GET", self._models(project_id, name)))

    def list_registered_models(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        """Return one page of a project's registered models, by name."""
        params: dict[str, Any] = {"max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        body = self.request("GET", self._models(project_id), params=params)
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
            self.request(
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
        self.request("DELETE", self._models(project_id, name), gone_ok=True)

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
            self.request(
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
            self.request("GET", f"{self._models(project_id, name)}/versions/{int(version)}")
        )

    def get_model_version_by_alias(self, project_id: str, name: str, alias: str) -> ModelVersion:
        """Return the version an alias points to."""
        return ModelVersion.from_dict(
            self.request("GET", f"{self._models(project_id, name)}/aliases/{_seg(alias)}")
        )

    def list_model_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[ModelVersion]:
        """Return one page of a model's versions, newest first."""
        params: dict[str, Any] = {"max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        body = self.request("GET", f"{self._models(project_id, name)}/versions", params=params)
        return Page(
            [ModelVersion.from_dict(v) for v in body["versions"]], body.get("next_page_token")
        )

    def delete_model_version(self, project_id: str, name: str, version: int) -> None:
        """Delete a version."""
        self.request(
            "DELETE", f"{self._models(project_id, name)}/versions/{int(version)}", gone_ok=True
        )

    # -- aliases -------------------------------------------------------------------------
    def set_model_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> AliasEvent:
        """Point an alias at a version."""
        return AliasEvent.from_dict(
            self.request(
                "PUT",
                f"{self._models(project_id, name)}/aliases/{_seg(alias)}",
                json={"version": version, "claimed_by": claimed_by},
            )
        )

    def delete_model_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> AliasEvent:
        """Remove an alias (retried after a lost reply: the removal that attempt recorded)."""
        body = self.request(
            "DELETE",
            f"{self._models(project_id, name)}/aliases/{_seg(alias)}",
            params={"claimed_by": claimed_by},
            gone_ok=True,
        )
        if body is not None:
            return AliasEvent.from_dict(body)
        moves = self.alias_history(project_id, name, alias)
        if moves and moves[-1].to_version is None:
            return moves[-1]
        raise ModelVersionNotFound(
            f"model {name!r} has no alias {alias!r}", model=name, alias=alias
        )

    def alias_history(
        self, project_id: str, name: str, alias: str | None = None
    ) -> list[AliasEvent]:
        """Return the recorded alias moves, oldest first."""
        params = {} if alias is None else {"alias": alias}
        body = self.request("GET", f"{self._models(project_id, name)}/alias-history", params=params)
        return [AliasEvent.from_dict(e) for e in body["events"]]
