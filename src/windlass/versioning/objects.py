"""Versions and aliases of one kind of versioned object, over the metadata store.

:class:`VersionedObjects` is what every kind's registry shares: the checks of names,
version numbers and alias names, resolution of a version by number, by alias or as the
newest (the reserved alias ``latest``), listing versions, and setting, deleting and
listing the recorded moves of aliases. A kind's registry (``ModelRegistry``,
``PromptRegistry``) is built on it and adds only what is its own.

The store's calls for a kind follow one naming pattern (``get_<noun>_version``,
``get_<noun>_version_by_alias``, ``list_<noun>_versions``, ``set_<noun>_alias``,
``delete_<noun>_alias``, ``<noun>_alias_history``); they are looked up once, when the
registry is built, so a store lacking one fails at once and not on first use.

Every public call first asks the kind's :class:`~windlass.access.gate.Access`: reads need
read in the project, setting or deleting an alias needs write, or admin for a protected
alias (:data:`PROTECTED_ALIASES`). Each alias move is then audited once, with the version
the alias named before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from windlass.access import actions
from windlass.access.bound import Bound
from windlass.access.gate import Access
from windlass.access.policy import Permission
from windlass.entities import AliasMove, Page
from windlass.exceptions import InvalidInput, NotFound
from windlass.ids import now_ms
from windlass.principal import Principal, local_principal
from windlass.uris import LATEST, check_name, check_version, removable_alias, settable_alias
from windlass.versioning.checks import recorded_name

V = TypeVar("V")
E = TypeVar("E", bound=AliasMove)
#: Aliases only an admin of the project may move or remove (the others need write).
PROTECTED_ALIASES = frozenset({"production", "champion"})


_ALIAS_ACTIONS = {
    "model": (actions.MODEL_ALIAS_SET, actions.MODEL_ALIAS_DELETE),
    "prompt": (actions.PROMPT_ALIAS_SET, actions.PROMPT_ALIAS_DELETE),
}


def alias_permission(alias: str) -> Permission:
    """Return what moving or removing ``alias`` needs: admin for a protected alias."""
    return Permission.ADMIN if alias in PROTECTED_ALIASES else Permission.WRITE


class VersionedObjects(Bound, Generic[V, E]):
    """The versions (``V``) and alias moves (``E``) of one kind, e.g. models or prompts."""

    def __init__(
        self,
        store: Any,
        noun: str,
        *,
        object_not_found: type[NotFound],
        version_not_found: type[NotFound],
        history_call: str | None = None,
        principal: Principal | None = None,
        access: Access | None = None,
    ) -> None:
        """Bind the store's calls for the kind ``noun`` (``model``, ``prompt``...).

        ``object_not_found`` is what the store raises for a missing object (a first version
        then creates it); ``version_not_found`` what a missing version is. ``history_call``
        names the store's alias-history call when it breaks the naming pattern; ``principal``
        is who writes are recorded as when a call names none (default: the embedded SDK's);
        ``access`` checks and records every call (default: off).
        """
        self._bind(access, principal if principal is not None else local_principal())
        self.noun = noun
        #: The audit actions of alias moves and removals (``<noun>.alias.set``, ...).
        self.alias_set_action, self.alias_delete_action = _ALIAS_ACTIONS.get(
            noun, (f"{noun}.alias.set", f"{noun}.alias.delete")
        )
        self.object_not_found = object_not_found
        self.version_not_found = version_not_found
        self._get: Callable[[str, str, int], V] = getattr(store, f"get_{noun}_version")
        self._by_alias: Callable[[str, str, str], V] = getattr(
            store, f"get_{noun}_version_by_alias"
        )
        self._list: Callable[..., Page[V]] = getattr(store, f"list_{noun}_versions")
        self._set_alias: Callable[..., E] = getattr(store, f"set_{noun}_alias")
        self._delete_alias: Callable[..., E] = getattr(store, f"delete_{noun}_alias")
        self._history: Callable[[str, str, str | None], list[E]] = getattr(
            store, history_call or f"{noun}_alias_history"
        )

    def recorded(self, principal: Principal | None) -> str:
        """Return the name a write is recorded under: ``principal``'s, else this registry's."""
        return recorded_name(principal or self.principal)

    def _require(
        self, principal: Principal | None, permission: Permission, project_id: str
    ) -> Principal:
        """Check ``permission`` in the project; return the principal of the call."""
        who = self._who(principal)
        self._access.require(who, permission, project_id)
        return who

    def uri(self, name: str, version: int | None = None, alias: str | None = None) -> str:
        """Return the URI naming an object, one version or one alias in audit records."""
        base = f"{self.noun}s:/{name}"
        if version is not None:
            return f"{base}/{version}"
        return base if alias is None else f"{base}@{alias}"

    # -- names -----------------------------------------------------------------------------
    def check_name(self, name: Any) -> str:
        """Return ``name`` if it may name an object of this kind, else InvalidInput."""
        return check_name(f"{self.noun} name", name)

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

    def get_version(
        self, project_id: str, name: str, version: int, *, principal: Principal | None = None
    ) -> V:
        """Return one version by number, with its aliases."""
        self._require(principal, Permission.READ, project_id)
        return self._get(project_id, self.check_name(name), check_version(version, self.noun))

    def get_version_by_alias(
        self, project_id: str, name: str, alias: str, *, principal: Principal | None = None
    ) -> V:
        """Return the version ``alias`` names (``latest``: the newest version)."""
        who = self._require(principal, Permission.READ, project_id)
        name = self.check_name(name)
        if check_name("alias", alias) == LATEST:
            return self.newest(project_id, name, principal=who)
        return self._by_alias(project_id, name, alias)

    def resolve(
        self,
        project_id: str,
        name: str,
        *,
        version: int | None = None,
        alias: str | None = None,
        principal: Principal | None = None,
    ) -> V:
        """Return the version named by number or alias; neither: the newest version."""
        who = self._require(principal, Permission.READ, project_id)
        if version is not None and alias is not None:
            raise InvalidInput("give a version or an alias, not both")
        if version is not None:
            return self.get_version(project_id, name, version, principal=who)
        if alias is not None:
            return self.get_version_by_alias(project_id, name, alias, principal=who)
        return self.newest(project_id, self.check_name(name), principal=who)

    def newest(self, project_id: str, name: str, *, principal: Principal | None = None) -> V:
        """Return the newest version (what ``@latest`` names), or the version-not-found error."""
        self._require(principal, Permission.READ, project_id)
        page = self._list(project_id, name, max_results=1)
        if not page.items:
            raise self.version_not_found(
                f"{self.noun} {name!r} has no versions yet", **{self.noun: name, "alias": LATEST}
            )
        return page.items[0]

    def list_versions(
        self,
        project_id: str,
        name: str,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> Page[V]:
        """Return one page of the object's versions, newest first."""
        self._require(principal, Permission.READ, project_id)
        return self._list(project_id, self.check_name(name), max_results, page_token)

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
        A protected alias (:data:`PROTECTED_ALIASES`) moves only by an admin of the project.
        """
        who = self._require(principal, alias_permission(alias), project_id)
        name = self.check_name(name)
        alias = settable_alias(alias)
        move = self._set_alias(
            project_id,
            name,
            alias,
            check_version(version, self.noun),
            claimed_by=self.recorded(who),
            at=now_ms(),
        )
        if move.from_version == move.to_version:
            return move  # nothing moved, nothing to audit
        self._access.record(
            who,
            self.alias_set_action,
            self.uri(name, alias=alias),
            project_id=project_id,
            before={"version": move.from_version},
            after={"version": move.to_version},
        )
        return move

    def delete_alias(
        self, project_id: str, name: str, alias: str, *, principal: Principal | None = None
    ) -> E:
        """Remove an alias; return the recorded removal (``to_version`` None).

        A protected alias (:data:`PROTECTED_ALIASES`) is removed only by an admin.
        """
        who = self._require(principal, alias_permission(alias), project_id)
        name = self.check_name(name)
        alias = removable_alias(alias)
        move = self._delete_alias(
            project_id, name, alias, claimed_by=self.recorded(who), at=now_ms()
        )
        self._access.record(
            who,
            self.alias_delete_action,
            self.uri(name, alias=alias),
            project_id=project_id,
            before={"version": move.from_version},
            after=None,
        )
        return move

    def alias_history(
        self,
        project_id: str,
        name: str,
        alias: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> list[E]:
        """Return every recorded move of the object's aliases (or of one), oldest first."""
        self._require(principal, Permission.READ, project_id)
        return self._history(
            project_id,
            self.check_name(name),
            None if alias is None else check_name("alias", alias),
        )
