"""The REST client's prompt registry, on the versioned core (:mod:`.versioned`).

Each call is one request to ``/api/v1/projects/{project}/prompts/...``; the server
answers through its own prompt registry domain, so names, templates, variables and
settings are checked there again, and the server computes the content hash itself (the
``content_hash`` passed here is not sent). The times (``created_at``, an alias move's
``at``) and a prompt's id are the server's; a version's ``version_id`` is sent as given.
``claimed_by`` is not sent: the server records the principal it derived from the request.
"""

from __future__ import annotations

from typing import Any

from windlass.entities import (
    Prompt,
    PromptAliasEvent,
    PromptVariable,
    PromptVersion,
    Template,
)
from windlass.exceptions import PromptVersionNotFound
from windlass.store.prompts import PromptStore
from windlass.store.rest.transport import RestTransport
from windlass.store.rest.versioned import VersionedResource


class RestPromptStore(PromptStore):
    """Prompts, their versions, aliases and alias history over the REST API."""

    def __init__(self, http: RestTransport) -> None:
        self._prompts = VersionedResource(
            http,
            "prompts",
            object_from=Prompt.from_dict,
            version_from=PromptVersion.from_dict,
            noun="prompt",
            version_not_found=PromptVersionNotFound,
            event_from=PromptAliasEvent.from_dict,
        )
        self.objects = self._prompts

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
        """Create a prompt on the server (which picks its id)."""
        body = {
            "prompt_id": prompt_id,
            "name": name,
            "description": description,
            "exist_ok": exist_ok,
        }
        return self._prompts.create(project_id, body)

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
        body = {
            "version_id": version_id,
            "template": template,
            "model": model,
            "response_format": response_format,
            "variables": {k: v.to_dict() for k, v in variables.items()},
            "commit_message": commit_message,
            "create_missing_prompt": False,
        }
        return self._prompts.create_version(project_id, name, body)
