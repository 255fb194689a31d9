"""The prompts store interface: creating prompts and registering their versions.

A version holds a template, model settings, a response format, declared variables and a
content hash; registering the newest content again creates nothing. Everything else
(reading, listing and deleting prompts, versions by number or alias, alias moves) is the
versioned core every kind shares, reached as ``store.prompts.objects``
(:class:`~windlass.store.versioned.VersionedStore`). ``tests/store/test_prompts_contract.py``
holds the SQL store and the REST client to both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from windlass.entities import Prompt, PromptAliasEvent, PromptVariable, PromptVersion, Template
from windlass.store.versioned import VersionedStore

#: The largest page of prompts or prompt versions one call returns.
MAX_PROMPT_RESULTS = 1000


class PromptStore(ABC):
    """Prompts and their numbered versions (aliases and reading: :attr:`objects`)."""

    #: What every versioned kind shares, for prompts.
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
