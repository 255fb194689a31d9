"""The REST client's prompt registry (a base class of :class:`RestStore`).

Each call is one request to ``/api/v1/projects/{project}/prompts/...``; the server
answers through its own prompt registry domain, so names, templates, variables and
settings are checked there again, and the server computes the content hash itself (the
``content_hash`` passed here is not sent: the server's is the one a retry and an identical
register are matched on, whoever wrote the version). The times
(``created_at``, an alias move's ``at``) are the server's; a prompt's ``prompt_id``, a
version's ``version_id`` and ``claimed_by`` and an alias move's ``claimed_by`` are sent as
given (names recorded as claims), so a create retried after a lost response creates one
object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from windlass.entities import (
    Page,
    Prompt,
    PromptAliasEvent,
    PromptVariable,
    PromptVersion,
    Template,
)
from windlass.exceptions import PromptVersionNotFound
from windlass.store.base import MetadataStore


def _seg(value: str) -> str:
    """Return ``value`` as one URL path segment."""
    return quote(value, safe="")


class RestPrompts(MetadataStore):
    """Prompts, their versions, aliases and alias history over the REST API."""

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
    def _prompts(project_id: str, name: str | None = None) -> str:
        path = f"/api/v1/projects/{_seg(project_id)}/prompts"
        return path if name is None else f"{path}/{_seg(name)}"

    @staticmethod
    def _paging(max_results: int, page_token: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        return params

    # -- prompts -------------------------------------------------------------------------
    def create_prompt(
        self,
        *,
        prompt_id: str,
        project_id: str,
        name: str,
        description: str,
        created_at: int,
        exist_ok: bool = False,
    ) -> Prompt:
        """Create a prompt on the server (``prompt_id`` makes a retry safe)."""
        return Prompt.from_dict(
            self.request(
                "POST",
                self._prompts(project_id),
                json={
                    "prompt_id": prompt_id,
                    "name": name,
                    "description": description,
                    "exist_ok": exist_ok,
                },
            )
        )

    def get_prompt(self, project_id: str, name: str) -> Prompt:
        """Return a prompt."""
        return Prompt.from_dict(self.request("GET", self._prompts(project_id, name)))

    def list_prompts(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[Prompt]:
        """Return one page of a project's prompts, by name."""
        body = self.request(
            "GET", self._prompts(project_id), params=self._paging(max_results, page_token)
        )
        return Page([Prompt.from_dict(p) for p in body["prompts"]], body.get("next_page_token"))

    def delete_prompt(self, project_id: str, name: str) -> None:
        """Delete a prompt with its versions."""
        self.request("DELETE", self._prompts(project_id, name), gone_ok=True)

    # -- versions ------------------------------------------------------------------------
    def create_prompt_version(
        self,
        *,
        version_id: str,
        project_id: str,
        name: str,
        template: Template,
        model: dict[str, Any],
        response_format: dict[str, Any] | None,
        variables: dict[str, PromptVariable],
        content_hash: str,
        commit_message: str,
        claimed_by: str,
        created_at: int,
    ) -> PromptVersion:
        """Register the next version (``version_id`` makes a retry safe)."""
        return PromptVersion.from_dict(
            self.request(
                "POST",
                f"{self._prompts(project_id, name)}/versions",
                json={
                    "version_id": version_id,
                    "template": template,
                    "model": model,
                    "response_format": response_format,
                    "variables": {k: v.to_dict() for k, v in variables.items()},
                    "commit_message": commit_message,
                    "claimed_by": claimed_by,
                    "create_missing_prompt": False,
                },
            )
        )

    def get_prompt_version(self, project_id: str, name: str, version: int) -> PromptVersion:
        """Return one version."""
        return PromptVersion.from_dict(
            self.request("GET", f"{self._prompts(project_id, name)}/versions/{int(version)}")
        )

    def get_prompt_version_by_alias(self, project_id: str, name: str, alias: str) -> PromptVersion:
        """Return the version an alias points to."""
        return PromptVersion.from_dict(
            self.request("GET", f"{self._prompts(project_id, name)}/aliases/{_seg(alias)}")
        )

    def list_prompt_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[PromptVersion]:
        """Return one page of a prompt's versions, newest first."""
        body = self.request(
            "GET",
            f"{self._prompts(project_id, name)}/versions",
            params=self._paging(max_results, page_token),
        )
        return Page(
            [PromptVersion.from_dict(v) for v in body["versions"]], body.get("next_page_token")
        )

    # -- aliases -------------------------------------------------------------------------
    def set_prompt_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> PromptAliasEvent:
        """Point an alias at a version."""
        return PromptAliasEvent.from_dict(
            self.request(
                "PUT",
                f"{self._prompts(project_id, name)}/aliases/{_seg(alias)}",
                json={"version": version, "claimed_by": claimed_by},
            )
        )

    def delete_prompt_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> PromptAliasEvent:
        """Remove an alias (retried after a lost reply: the removal that attempt recorded)."""
        body = self.request(
            "DELETE",
            f"{self._prompts(project_id, name)}/aliases/{_seg(alias)}",
            params={"claimed_by": claimed_by},
            gone_ok=True,
        )
        if body is not None:
            return PromptAliasEvent.from_dict(body)
        moves = self.prompt_alias_history(project_id, name, alias)
        if moves and moves[-1].to_version is None:
            return moves[-1]
        raise PromptVersionNotFound(
            f"prompt {name!r} has no alias {alias!r}", prompt=name, alias=alias
        )

    def prompt_alias_history(
        self, project_id: str, name: str, alias: str | None = None
    ) -> list[PromptAliasEvent]:
        """Return the recorded alias moves, oldest first."""
        params = {} if alias is None else {"alias": alias}
        body = self.request(
            "GET", f"{self._prompts(project_id, name)}/alias-history", params=params
        )
        return [PromptAliasEvent.from_dict(e) for e in body["events"]]
