"""The prompts store interface: prompts, their numbered versions, aliases and alias history.

The SQL store (:mod:`windlass.store.sql.prompts`) and the REST client
(:mod:`windlass.store.rest.prompts`) implement it alike; the contract suite
``tests/store/test_prompts_contract.py`` holds both to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from windlass.entities import (
    Page,
    Prompt,
    PromptAliasEvent,
    PromptVariable,
    PromptVersion,
    Template,
)

#: The largest page of prompts or prompt versions one call returns.
MAX_PROMPT_RESULTS = 1000


class PromptStore(ABC):
    """Prompts, their numbered versions, aliases and alias history."""

    @abstractmethod
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
        """Create a prompt; an existing name raises AlreadyExists unless ``exist_ok``."""

    @abstractmethod
    def get_prompt(self, project_id: str, name: str) -> Prompt:
        """Return a prompt with its aliases and newest version number, or PromptNotFound."""

    @abstractmethod
    def list_prompts(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[Prompt]:
        """Return a project's prompts ordered by name, one page at a time."""

    @abstractmethod
    def delete_prompt(self, project_id: str, name: str) -> None:
        """Delete a prompt with its versions and history; InvalidState while aliased."""

    @abstractmethod
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
        """Add the prompt's next version (1, 2, 3... without gaps or duplicates).

        The same ``version_id`` again returns the version already created (retries are
        safe). When ``content_hash`` equals the newest version's, nothing is created and
        the newest version is returned (its id is not ``version_id``), decided under the
        prompt's lock, so concurrent registers of one content create one version. The
        prompt must exist (PromptNotFound).
        """

    @abstractmethod
    def get_prompt_version(self, project_id: str, name: str, version: int) -> PromptVersion:
        """Return one version (with its aliases), or PromptVersionNotFound."""

    @abstractmethod
    def get_prompt_version_by_alias(self, project_id: str, name: str, alias: str) -> PromptVersion:
        """Return the version an alias points to, or PromptVersionNotFound naming the alias."""

    @abstractmethod
    def list_prompt_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[PromptVersion]:
        """Return a prompt's versions, newest first, one page at a time."""

    @abstractmethod
    def set_prompt_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> PromptAliasEvent:
        """Point ``alias`` at ``version`` atomically and record the move (who, when, from, to).

        Setting an alias to the version it already names records nothing; the event
        returned then has ``from_version == to_version``.
        """

    @abstractmethod
    def delete_prompt_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> PromptAliasEvent:
        """Remove an alias and record it (``to_version`` None); a missing alias is NotFound."""

    @abstractmethod
    def prompt_alias_history(
        self, project_id: str, name: str, alias: str | None = None
    ) -> list[PromptAliasEvent]:
        """Return every recorded alias move of a prompt (or of one alias), oldest first."""
