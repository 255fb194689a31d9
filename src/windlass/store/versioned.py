"""The store interface every versioned kind shares: its versions, aliases and alias history.

Models and prompts (and next datasets and evaluation suites) are each "a named object with
immutable numbered versions and aliases whose every move is recorded". Reading versions
and moving aliases is the same for every kind, so it is one interface, written once here
and implemented once per backend (:mod:`windlass.store.sql.versioned`,
:mod:`windlass.store.rest.versioned`) for any kind. A kind's own store interface
(:class:`~windlass.store.registry.RegistryStore`,
:class:`~windlass.store.prompts.PromptStore`) holds what is its own (creating objects and
versions, updating, deleting) and reaches the shared part as its ``versions`` attribute::

    store.registry.versions.set_alias(project_id, "churn", "champion", 3, claimed_by=..., at=...)
    store.prompts.versions.list_versions(project_id, "support", max_results=10)

The contract suites of each kind (``tests/store/test_registry_contract.py``,
``tests/store/test_prompts_contract.py``) hold every implementation to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from windlass.entities import AliasMove, Page

V = TypeVar("V")
E = TypeVar("E", bound=AliasMove)


class VersionedStore(ABC, Generic[V, E]):
    """One kind's versions (``V``) and recorded alias moves (``E``), by object name.

    A missing object raises the kind's not-found error (ModelNotFound, PromptNotFound...),
    a missing version or alias the kind's version-not-found error, naming what is missing.
    """

    @abstractmethod
    def get_version(self, project_id: str, name: str, version: int) -> V:
        """Return one version (with its aliases), or the kind's version-not-found error."""

    @abstractmethod
    def get_version_by_alias(self, project_id: str, name: str, alias: str) -> V:
        """Return the version an alias points to, or the version-not-found error naming it."""

    @abstractmethod
    def list_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[V]:
        """Return an object's versions, newest first, one page at a time."""

    @abstractmethod
    def set_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> E:
        """Point ``alias`` at ``version`` atomically and record the move (who, when, from, to).

        Setting an alias to the version it already names records nothing; the event
        returned then has ``from_version == to_version``.
        """

    @abstractmethod
    def delete_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> E:
        """Remove an alias and record it (``to_version`` None); a missing alias is NotFound."""

    @abstractmethod
    def alias_history(self, project_id: str, name: str, alias: str | None = None) -> list[E]:
        """Return every recorded alias move of an object (or of one alias), oldest first."""
