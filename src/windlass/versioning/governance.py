"""A project's settings and the approval of held alias moves (two-person review).

:class:`ProjectGovernance` changes a project's settings (its ``protected_aliases``, whether
``two_person_review`` is on; project admins, audited as ``project.settings``) and decides
the alias requests :class:`~windlass.versioning.objects.VersionedObjects` stores when an
admin moves a protected alias with review on: a second admin (never the requester)
approves one, which moves the alias as the approver (audited once, as
``alias.approve``, naming the requester), or rejects it (``alias.reject``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from windlass.access import actions
from windlass.access.bound import Bound
from windlass.access.gate import Access
from windlass.access.policy import Permission
from windlass.entities import AliasMove, Project
from windlass.entities.governance import REQUEST_STATES, AliasRequest
from windlass.exceptions import InvalidInput, InvalidState, PermissionDenied
from windlass.ids import now_ms
from windlass.principal import Principal, local_principal
from windlass.store.governance import GovernanceStore
from windlass.store.metadata import MetadataStore
from windlass.uris import check_name, settable_alias
from windlass.versioning.checks import recorded_name
from windlass.versioning.objects import VersionedObjects

__all__ = ["MAX_PROTECTED_ALIASES", "ProjectGovernance", "checked_aliases"]

#: The most aliases one project may protect.
MAX_PROTECTED_ALIASES = 100


def checked_aliases(aliases: Iterable[Any]) -> tuple[str, ...]:
    """Return the alias names to protect, checked and without repeats (order kept)."""
    if isinstance(aliases, str):
        raise InvalidInput("protected_aliases is a list of alias names, not one string")
    names: list[str] = []
    for alias in aliases:
        name = settable_alias(check_name("alias", alias))
        if name not in names:
            names.append(name)
    if len(names) > MAX_PROTECTED_ALIASES:
        raise InvalidInput(
            f"a project may protect at most {MAX_PROTECTED_ALIASES} aliases, got {len(names)}"
        )
    return tuple(names)


def _settings(project: Project) -> dict[str, Any]:
    return {
        "protected_aliases": list(project.protected_aliases),
        "two_person_review": project.two_person_review,
    }


class ProjectGovernance(Bound):
    """Project settings and the alias requests of two-person review."""

    def __init__(
        self,
        store: MetadataStore,
        registries: Mapping[str, VersionedObjects[Any, Any, Any]],
        *,
        principal: Principal | None = None,
        access: Access | None = None,
    ) -> None:
        """Govern the projects of ``store``; ``registries`` move aliases per kind (``model``)."""
        if store.governance is None:
            raise TypeError("project governance needs a store that keeps alias requests")
        self.store = store
        self._governance: GovernanceStore = store.governance
        self.registries = dict(registries)
        self._bind(access, principal if principal is not None else local_principal())

    # -- settings --------------------------------------------------------------------------
    def update_project_settings(
        self,
        project_id: str,
        *,
        protected_aliases: Iterable[str] | None = None,
        two_person_review: bool | None = None,
        principal: Principal | None = None,
    ) -> Project:
        """Change the settings given (None: keep); return the project. Needs project admin."""
        who = self._who(principal)
        self._access.require(who, Permission.ADMIN, project_id)
        if two_person_review is not None and not isinstance(two_person_review, bool):
            raise InvalidInput("two_person_review must be true or false")
        protected = None if protected_aliases is None else checked_aliases(protected_aliases)
        with self.store.transaction():
            before = self.store.runs.get_project(project_id)
            after = self._governance.update_project_settings(
                before.id, protected_aliases=protected, two_person_review=two_person_review
            )
            if _settings(before) != _settings(after):
                self._access.record(
                    who,
                    actions.PROJECT_SETTINGS,
                    f"projects:/{after.name}",
                    project_id=after.id,
                    before=_settings(before),
                    after=_settings(after),
                )
        return after

    # -- alias requests --------------------------------------------------------------------
    def list_alias_requests(
        self, project_id: str, state: str | None = "pending", *, principal: Principal | None = None
    ) -> list[AliasRequest]:
        """Return the project's alias requests of ``state`` (None: all), oldest first."""
        self._access.require(self._who(principal), Permission.READ, project_id)
        if state is not None and state not in REQUEST_STATES:
            raise InvalidInput(
                f"unknown request state {state!r}: use one of {', '.join(REQUEST_STATES)}"
            )
        return self._governance.list_alias_requests(project_id, state)

    def get_alias_request(
        self, project_id: str, request_id: str, *, principal: Principal | None = None
    ) -> AliasRequest:
        """Return one alias request of the project."""
        self._access.require(self._who(principal), Permission.READ, project_id)
        return self._governance.get_alias_request(project_id, request_id)

    def _decider(
        self, project_id: str, request_id: str, principal: Principal | None
    ) -> tuple[Principal, AliasRequest]:
        """Check that ``principal`` may decide the request: a project admin, not its requester."""
        who = self._who(principal)
        self._access.require(who, Permission.ADMIN, project_id)
        request = self._governance.get_alias_request(project_id, request_id)
        if self._access.enabled and _same(request, who):
            raise PermissionDenied(
                f"alias request {request_id} was made by {request.requested_by!r}: a second "
                "admin must approve or reject it",
                permission=Permission.ADMIN.value,
                request=request_id,
            )
        return who, request

    def approve(
        self, project_id: str, request_id: str, *, principal: Principal | None = None
    ) -> AliasRequest:
        """Approve a pending request: the alias moves, as the approver; return the request."""
        who, request = self._decider(project_id, request_id, principal)
        registry = self.registries.get(request.kind)
        if registry is None:
            raise InvalidInput(f"alias requests of kind {request.kind!r} cannot be approved here")
        if request.state != "pending":
            raise InvalidState(
                f"alias request {request_id!r} is already {request.state}",
                request=request_id,
                state=request.state,
            )
        with self.store.transaction():
            move: AliasMove = registry.move_approved(request, who)
            decided = self._governance.decide_alias_request(
                project_id, request_id, state="approved", decided_by=recorded_name(who), at=now_ms()
            )
            self._access.record(
                who,
                actions.ALIAS_APPROVE,
                request.object_uri,
                project_id=project_id,
                before={"version": move.from_version},
                after={
                    "version": move.to_version,
                    "request": decided.id,
                    "requested_by": decided.requested_by,
                },
            )
        return decided

    def reject(
        self, project_id: str, request_id: str, *, principal: Principal | None = None
    ) -> AliasRequest:
        """Reject a pending request: the alias does not move; return the request."""
        who, _ = self._decider(project_id, request_id, principal)
        with self.store.transaction():
            decided = self._governance.decide_alias_request(
                project_id, request_id, state="rejected", decided_by=recorded_name(who), at=now_ms()
            )
            self._access.record(
                who,
                actions.ALIAS_REJECT,
                decided.object_uri,
                project_id=project_id,
                after=decided.to_dict(),
            )
        return decided


def _same(request: AliasRequest, who: Principal) -> bool:
    """Return whether ``who`` made ``request`` (by user id when both have one, else name)."""
    if request.requested_by_id is not None and who.user_id is not None:
        return request.requested_by_id == who.user_id
    return request.requested_by == who.name
