"""The prompts store interface: prompts, their numbered versions, aliases and alias history.

What every versioned kind shares (versions by number or alias, listing them, alias moves
and their history) is :class:`~windlass.store.versioned.VersionedStore`, reached as
``store.prompts.versions``; this interface adds what only prompts have.

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
from windlass.store.versioned import VersionedStore

#: The largest page of prompts or prompt versions one call returns.
MAX_PROMPT_RESULTS = 1000


class PromptStore(ABC):
    """Prompts and their numbered versions; aliases through :attr:`versions`."""

    #: Reading versions and moving aliases, as every versioned kind does
    #: (:class:`~windlass.store.versioned.VersionedStore`).
    versions: VersionedStore[PromptVersion, PromptAliasEvent]

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
