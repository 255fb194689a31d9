"""Versions and aliases of one kind of versioned object, over the metadata store.

:class:`VersionedObjects` is what every kind's registry shares: the checks of names,
version numbers and alias names, resolution of a version by number, by alias or as the
newest (the reserved alias ``latest``), listing versions, and setting, deleting and
listing the recorded moves of aliases. A kind's registry (``ModelRegistry``,
``PromptRegistry``) is built on it and adds only what is its own.

It reads and moves through the kind's
:class:`~windlass.store.versioned.VersionedStore` (``store.registry.objects``,
``store.prompts.objects``), the one store interface every kind shares; nothing here
depends on what a kind calls its objects but the noun in messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from windlass.entities import AliasMove, Page
from windlass.exceptions import InvalidInput, NotFound
from windlass.ids import now_ms, writer_id
from windlass.principal import Principal, local_principal
from windlass.store.versioned import VersionedStore
from windlass.uris import LATEST, check_name, check_version, removable_alias, settable_alias
from windlass.versioning.checks import checked_text, recorded_name

O = TypeVar("O")  # noqa: E741 - the object, as V is the version and E the alias event
V = TypeVar("V")
E = TypeVar("E", bound=AliasMove)

#: The most characters an object's description may have, whatever its kind.
MAX_DESCRIPTION_LENGTH = 100_000


class VersionedObjects(Generic[O, V, E]):
    """The objects (``O``), versions (``V``) and alias moves (``E``) of one kind."""

    def __init__(
        self,
        objects: VersionedStore[O, V, E],
        noun: str,
        *,
        object_not_found: type[NotFound],
        version_not_found: type[NotFound],
        principal: Principal | None = None,
    ) -> None:
        """Read and move the versions of the kind ``noun`` (``model``, ``prompt``...).

        ``objects`` is the kind's shared store interface. ``object_not_found`` is what the
        store raises for a missing object (a first version then creates it);
        ``version_not_found`` what a missing version is. ``principal`` is who writes are
        recorded as when a call names none (default: the embedded SDK's).
        """
        if not isinstance(objects, VersionedStore):
            raise TypeError(
                f"the {noun} registry needs a VersionedStore, got {type(objects).__name__}"
            )
        #: The kind's objects, versions and alias moves in the metadata store.
        self.objects = objects
        #: Who writes are recorded as when a call names no principal.
        self.principal = principal if principal is not None else local_principal()
        self.noun = noun
        self.object_not_found = object_not_found
        self.version_not_found = version_not_found

    def recorded(self, principal: Principal | None) -> str:
        """Return the name a write is recorded under: ``principal``'s, else this registry's."""
        return recorded_name(principal or self.principal)

    # -- names -----------------------------------------------------------------------------
    def check_name(self, name: Any) -> str:
        """Return ``name`` if it may name an object of this kind, else InvalidInput."""
        return check_name(f"{self.noun} name", name)

    # -- objects ---------------------------------------------------------------------------
    def create_object(
        self,
        create: Callable[..., O],
        project_id: str,
        name: str,
        *,
        description: str = "",
        exist_ok: bool = False,
        object_id: str | None = None,
    ) -> O:
        """Create an object without versions through ``create``, the kind's store call.

        The name and description are checked; ``object_id`` (32 hex characters; default: a
        new one) is the writer's id, which makes a retry safe. ``create`` is called with
        ``<noun>_id``, ``project_id``, ``name``, ``description``, ``created_at`` and
        ``exist_ok``; the kind binds its own fields (a model's tags) beforehand.
        """
        return create(
            **{f"{self.noun}_id": writer_id(self.noun, object_id)},
            project_id=project_id,
            name=self.check_name(name),
            description=checked_text("description", description, MAX_DESCRIPTION_LENGTH),
            created_at=now_ms(),
            exist_ok=exist_ok,
        )

    def get_object(self, project_id: str, name: str) -> O:
        """Return an object with its aliases and newest version number."""
        return self.objects.get_object(project_id, self.check_name(name))

    def list_objects(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[O]:
        """Return one page of a project's objects, by name."""
        return self.objects.list_objects(project_id, max_results, page_token)

    def delete_object(self, project_id: str, name: str) -> None:
        """Delete an object with all its versions (refused while aliased or in use)."""
        self.objects.delete_object(project_id, self.check_name(name))

    # -- versions --------------------------------------------------------------------------
    def _create_with_object(
        self,
        create_version: Callable[[], V],
        create_object: Callable[[], object],
        *,
        create_missing: bool = True,
    ) -> V:
        """Return ``create_version()``, creating the object first if it does not exist yet.

        The common case (a known object) costs one call, not two. With ``create_missing``
        False a missing object is the store's not-found error, as it is when the object is
        deleted again between creating it and its version.
        """
        try:
            return create_version()
        except self.object_not_found:
            if not create_missing:
                raise
        create_object()
        return create_version()

    def get_version(self, project_id: str, name: str, version: int) -> V:
        """Return one version by number, with its aliases."""
        return self.objects.get_version(
            project_id, self.check_name(name), check_version(version, self.noun)
        )

    def get_version_by_alias(self, project_id: str, name: str, alias: str) -> V:
        """Return the version ``alias`` names (``latest``: the newest version)."""
        name = self.check_name(name)
        if check_name("alias", alias) == LATEST:
            return self.newest(project_id, name)
        return self.objects.get_version_by_alias(project_id, name, alias)

    def resolve(
        self, project_id: str, name: str, *, version: int | None = None, alias: str | None = None
    ) -> V:
        """Return the version named by number or alias; neither: the newest version."""
        if version is not None and alias is not None:
            raise InvalidInput("give a version or an alias, not both")
        if version is not None:
            return self.get_version(project_id, name, version)
        if alias is not None:
            return self.get_version_by_alias(project_id, name, alias)
        return self.newest(project_id, self.check_name(name))

    def newest(self, project_id: str, name: str) -> V:
        """Return the newest version (what ``@latest`` names), or the version-not-found error."""
        page = self.objects.list_versions(project_id, name, max_results=1)
        if not page.items:
            raise self.version_not_found(
                f"{self.noun} {name!r} has no versions yet", **{self.noun: name, "alias": LATEST}
            )
        return page.items[0]

    def list_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[V]:
        """Return one page of the object's versions, newest first."""
        return self.objects.list_versions(
            project_id, self.check_name(name), max_results, page_token
        )

    # -- aliases ---------------------------------------------------------------------------
    def set_alias(
        self,
        project_id: str,
        name: str,
        alias: str,
        version: int,
        *,
        principal: Principal | None = None,
    ) -> E:
        """Point ``alias`` at ``version``; return the recorded move.

        ``latest`` and all-digit names are refused. Setting an alias to the version it
        already names records nothing and returns a move with ``from_version == to_version``.
        """
        return self.objects.set_alias(
            project_id,
            self.check_name(name),
            settable_alias(alias),
            check_version(version, self.noun),
            claimed_by=self.recorded(principal),
            at=now_ms(),
        )

    def delete_alias(
        self, project_id: str, name: str, alias: str, *, principal: Principal | None = None
    ) -> E:
        """Remove an alias; return the recorded removal (``to_version`` None)."""
        return self.objects.delete_alias(
            project_id,
            self.check_name(name),
            removable_alias(alias),
            claimed_by=self.recorded(principal),
            at=now_ms(),
        )

    def alias_history(self, project_id: str, name: str, alias: str | None = None) -> list[E]:
        """Return every recorded move of the object's aliases (or of one), oldest first."""
        return self.objects.alias_history(
            project_id,
            self.check_name(name),
            None if alias is None else check_name("alias", alias),
        )
