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

Every public call first asks the kind's :class:`~windlass.access.gate.Access`: reads need
read in the project, creating objects write, deleting them admin, setting or deleting an
alias write, or admin for a protected alias (the project's ``protected_aliases`` setting,
default :data:`PROTECTED_ALIASES`). Each creation, deletion and alias move is then
audited once (alias moves with the version the alias named before and after).

With auth on and the project's ``two_person_review`` setting on, an admin's move of a
protected alias does not move it: it stores a pending alias request (audited as
``alias.request``) and raises :class:`~windlass.exceptions.ApprovalPending`; a second
admin approves it (:class:`~windlass.versioning.governance.ProjectGovernance`), which
calls :meth:`VersionedObjects.move_approved`. With auth off every caller is the same
unauthenticated name, so neither setting is checked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from windlass.access import actions
from windlass.access.bound import Bound
from windlass.access.gate import Access
from windlass.access.policy import Permission
from windlass.entities import AliasMove, Page, Project
from windlass.entities.common import DEFAULT_PROTECTED_ALIASES
from windlass.entities.governance import AliasRequest
from windlass.exceptions import ApprovalPending, InvalidInput, NotFound
from windlass.ids import new_id, now_ms, writer_id
from windlass.principal import Principal, local_principal
from windlass.store.governance import GovernanceStore
from windlass.store.versioned import VersionedStore
from windlass.uris import LATEST, check_name, check_version, removable_alias, settable_alias
from windlass.versioning.checks import checked_text, recorded_name

O = TypeVar("O")  # noqa: E741 - the object, as V is the version and E the alias event
V = TypeVar("V")
E = TypeVar("E", bound=AliasMove)

#: The most characters an object's description may have, whatever its kind.
MAX_DESCRIPTION_LENGTH = 100_000
#: Aliases only an admin of a project may move or remove when the project has not set
#: its own list (its ``protected_aliases`` setting); the others need write.
PROTECTED_ALIASES = frozenset(DEFAULT_PROTECTED_ALIASES)
#: The audit actions of each kind: object create and delete, alias set and delete.
_ACTIONS = {
    "model": (
        actions.MODEL_CREATE,
        actions.MODEL_DELETE,
        actions.MODEL_ALIAS_SET,
        actions.MODEL_ALIAS_DELETE,
    ),
    "prompt": (
        actions.PROMPT_CREATE,
        actions.PROMPT_DELETE,
        actions.PROMPT_ALIAS_SET,
        actions.PROMPT_ALIAS_DELETE,
    ),
}


def alias_permission(alias: str, protected: Collection[str] = PROTECTED_ALIASES) -> Permission:
    """Return what moving or removing ``alias`` needs: admin for a protected alias."""
    return Permission.ADMIN if alias in protected else Permission.WRITE


class VersionedObjects(Bound, Generic[O, V, E]):
    """The objects (``O``), versions (``V``) and alias moves (``E``) of one kind."""

    def __init__(
        self,
        objects: VersionedStore[O, V, E],
        noun: str,
        *,
        object_not_found: type[NotFound],
        version_not_found: type[NotFound],
        principal: Principal | None = None,
        access: Access | None = None,
        projects: Callable[[str], Project] | None = None,
        governance: GovernanceStore | None = None,
        transaction: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        """Read and move the versions of the kind ``noun`` (``model``, ``prompt``...).

        ``objects`` is the kind's shared store interface. ``object_not_found`` is what the
        store raises for a missing object (a first version then creates it);
        ``version_not_found`` what a missing version is. ``principal`` is who writes are
        recorded as when a call names none (default: the embedded SDK's); ``access`` checks
        and records every call (default: off). ``projects`` returns a project by id with
        its settings (which aliases are protected, two-person review); ``governance``
        stores the alias requests of two-person review. Without them the default
        protected aliases apply and moves are never held for review. ``transaction`` is the
        metadata store's (:meth:`~windlass.store.metadata.MetadataStore.transaction`): a
        write and its audit record commit together in one.
        """
        if not isinstance(objects, VersionedStore):
            raise TypeError(
                f"the {noun} registry needs a VersionedStore, got {type(objects).__name__}"
            )
        #: The kind's objects, versions and alias moves in the metadata store.
        self.objects = objects
        self._bind(access, principal if principal is not None else local_principal())
        self.noun = noun
        #: The audit actions of creating and deleting objects, and of moving aliases.
        self.create_action, self.delete_action, self.alias_set_action, self.alias_delete_action = (
            _ACTIONS.get(
                noun,
                (f"{noun}.create", f"{noun}.delete", f"{noun}.alias.set", f"{noun}.alias.delete"),
            )
        )
        self.object_not_found = object_not_found
        self.version_not_found = version_not_found
        self._projects = projects
        self._governance = governance
        self._transaction = transaction if transaction is not None else contextlib.nullcontext

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
        principal: Principal | None = None,
    ) -> O:
        """Create an object without versions through ``create``, the kind's store call.

        The name and description are checked; ``object_id`` (32 hex characters; default: a
        new one) is the writer's id, which makes a retry safe. ``create`` is called with
        ``<noun>_id``, ``project_id``, ``name``, ``description``, ``created_at`` and
        ``exist_ok``; the kind binds its own fields (a model's tags) beforehand. Needs write
        in the project; a new object is audited (an existing one returned is not).
        """
        who = self._require(principal, Permission.WRITE, project_id)
        chosen = writer_id(self.noun, object_id)
        with self._transaction():
            made = create(
                **{f"{self.noun}_id": chosen},
                project_id=project_id,
                name=self.check_name(name),
                description=checked_text("description", description, MAX_DESCRIPTION_LENGTH),
                created_at=now_ms(),
                exist_ok=exist_ok,
            )
            if getattr(made, "id", None) == chosen:
                self._access.record(
                    who,
                    self.create_action,
                    self.uri(self.check_name(name)),
                    project_id=project_id,
                    after=made.to_dict() if hasattr(made, "to_dict") else None,
                )
        return made

    def get_object(self, project_id: str, name: str, *, principal: Principal | None = None) -> O:
        """Return an object with its aliases and newest version number."""
        self._require(principal, Permission.READ, project_id)
        return self.objects.get_object(project_id, self.check_name(name))

    def list_objects(
        self,
        project_id: str,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> Page[O]:
        """Return one page of a project's objects, by name."""
        self._require(principal, Permission.READ, project_id)
        return self.objects.list_objects(project_id, max_results, page_token)

    def delete_object(
        self, project_id: str, name: str, *, principal: Principal | None = None
    ) -> None:
        """Delete an object with all its versions (refused while aliased or in use).

        Needs admin in the project.
        """
        who = self._require(principal, Permission.ADMIN, project_id)
        name = self.check_name(name)
        with self._transaction():
            self.objects.delete_object(project_id, name)
            self._access.record(who, self.delete_action, self.uri(name), project_id=project_id)

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
        return self.objects.get_version(
            project_id, self.check_name(name), check_version(version, self.noun)
        )

    def get_version_by_alias(
        self, project_id: str, name: str, alias: str, *, principal: Principal | None = None
    ) -> V:
        """Return the version ``alias`` names (``latest``: the newest version)."""
        who = self._require(principal, Permission.READ, project_id)
        name = self.check_name(name)
        if check_name("alias", alias) == LATEST:
            return self.newest(project_id, name, principal=who)
        return self.objects.get_version_by_alias(project_id, name, alias)

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
        page = self.objects.list_versions(project_id, name, max_results=1)
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
        A protected alias (the project's setting) moves only by an admin of the project;
        with two-person review on (and auth on) it does not move: a pending request is
        stored and :class:`~windlass.exceptions.ApprovalPending` raised with it.
        """
        who, settings, protected = self._alias_check(principal, project_id, alias)
        name = self.check_name(name)
        alias = settable_alias(alias)
        if protected and settings is not None and settings.two_person_review:
            self._request_move(project_id, name, alias, version, who)
        return self._move(project_id, name, alias, version, who)

    def _alias_check(
        self, principal: Principal | None, project_id: str, alias: str
    ) -> tuple[Principal, Project | None, bool]:
        """Check the permission moving ``alias`` needs; return who, the settings, protected.

        Write is checked first (so a caller without a role learns nothing of the project's
        settings), then admin if the project protects the alias.
        """
        who = self._require(principal, Permission.WRITE, project_id)
        settings = self._settings(project_id)
        protected = alias in (PROTECTED_ALIASES if settings is None else settings.protected_aliases)
        if protected:
            self._access.require(who, Permission.ADMIN, project_id)
        return who, settings, protected

    def _settings(self, project_id: str) -> Project | None:
        """Return the project with its settings when they apply (auth on), else None."""
        if self._projects is None or not self._access.enabled:
            return None
        return self._projects(project_id)

    def _request_move(
        self, project_id: str, name: str, alias: str, version: int, who: Principal
    ) -> None:
        """Store a pending request to move ``alias``, audit it, raise ApprovalPending."""
        if self._governance is None:
            raise InvalidInput("two-person review needs a store that keeps alias requests")
        version = check_version(version, self.noun)
        self.objects.get_version(project_id, name, version)  # a missing version fails now
        with self._transaction():
            request = self._governance.create_alias_request(
                AliasRequest(
                    id=new_id(),
                    project_id=project_id,
                    kind=self.noun,
                    name=name,
                    alias=alias,
                    version=version,
                    requested_by=self.recorded(who),
                    requested_at=now_ms(),
                    requested_by_id=who.user_id,
                )
            )
            self._access.record(
                who,
                actions.ALIAS_REQUEST,
                request.object_uri,
                project_id=project_id,
                after=request.to_dict(),
            )
        raise ApprovalPending.held(request)

    def move_approved(self, request: AliasRequest, approver: Principal) -> E:
        """Move the alias of an approved ``request``, recorded as the approver's move.

        The caller (:class:`~windlass.versioning.governance.ProjectGovernance`) checked the
        approver and audits the approval; this records nothing in the audit trail.
        """
        return self.objects.set_alias(
            request.project_id,
            request.name,
            request.alias,
            request.version,
            claimed_by=self.recorded(approver),
            at=now_ms(),
        )

    def _move(self, project_id: str, name: str, alias: str, version: int, who: Principal) -> E:
        """Point ``alias`` at ``version`` as ``who`` and audit the move (if anything moved)."""
        with self._transaction():
            move: E = self.objects.set_alias(
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

        A protected alias (the project's setting) is removed only by an admin.
        """
        who = self._alias_check(principal, project_id, alias)[0]
        name = self.check_name(name)
        alias = removable_alias(alias)
        with self._transaction():
            move: E = self.objects.delete_alias(
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
        return self.objects.alias_history(
            project_id,
            self.check_name(name),
            None if alias is None else check_name("alias", alias),
        )
