"""The store interface every versioned kind shares: objects, versions, aliases, history.

Models and prompts (and next datasets and evaluation suites) are each "a named object with
immutable numbered versions and aliases whose every move is recorded". Reading objects and
versions, deleting an object and moving aliases is the same for every kind, so it is one
interface, written once here and implemented once per backend
(:mod:`windlass.store.sql.versioned`, :mod:`windlass.store.rest.versioned`) for any kind.
A kind's own store interface (:class:`~windlass.store.registry.RegistryStore`,
:class:`~windlass.store.prompts.PromptStore`) holds only what is its own (creating
objects and versions with their own fields, updating) and reaches the shared part as its
``objects`` attribute::

    store.registry.objects.set_alias(project_id, "churn", "champion", 3, claimed_by=..., at=...)
    store.prompts.objects.list_versions(project_id, "support", max_results=10)

The contract suites of each kind (``tests/store/test_registry_contract.py``,
``tests/store/test_prompts_contract.py``) hold every implementation to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from windlass.entities import AliasMove, Page

O = TypeVar("O")  # noqa: E741 - the object, as V is the version and E the alias event
V = TypeVar("V")
E = TypeVar("E", bound=AliasMove)


class VersionedStore(ABC, Generic[O, V, E]):
    """One kind's objects (``O``), versions (``V``) and recorded alias moves (``E``).

    A missing object raises the kind's not-found error (ModelNotFound, PromptNotFound...),
    naming the project; a missing version or alias the kind's version-not-found error,
    naming what is missing.
    """

    @abstractmethod
    def get_object(self, project_id: str, name: str) -> O:
        """Return an object with its aliases and newest version number."""

    @abstractmethod
    def list_objects(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[O]:
        """Return a project's objects ordered by name, one page at a time."""

    @abstractmethod
    def delete_object(self, project_id: str, name: str) -> None:
        """Delete an object with its versions and alias history.

        Refused while an alias exists (InvalidState, naming them) or while another object
        depends on it (InUse, naming it: a deployment serving a model).
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
