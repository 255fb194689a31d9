"""The prompts store interface: prompts, their numbered versions, aliases and alias history.

What every versioned kind shares (reading, listing and deleting objects, versions by
number or alias, alias moves and their history) is
:class:`~windlass.store.versioned.VersionedStore`, reached as ``store.prompts.objects``;
this interface adds what only prompts have.

The SQL store (:mod:`windlass.store.sql.prompts`) and the REST client
(:mod:`windlass.store.rest.prompts`) implement it alike; the contract suite
``tests/store/test_prompts_contract.py`` holds both to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from windlass.entities import (
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
    """Prompts and their numbered versions; reading and aliases through :attr:`objects`."""

    #: Reading, listing and deleting objects, reading versions and moving aliases, as
    #: every versioned kind does (:class:`~windlass.store.versioned.VersionedStore`).
    objects: VersionedStore[Prompt, PromptVersion, PromptAliasEvent]

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
