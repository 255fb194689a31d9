"""What every domain service shares about access: its gate and the principal it acts as.

A domain service (``Tracking``, ``ModelRegistry``, ``DeploymentService``,
``TraceService``, ``PromptRegistry``) is built once over its store, with one
:class:`~windlass.access.gate.Access` (default: off, no audit) and a default principal.
:meth:`Bound.acting_as` returns a shallow copy bound to another principal: no new
connection, the same store, caches and locks; a server binds one per request. A method's
own ``principal=`` argument still wins over the bound one.
"""

from __future__ import annotations

from typing import Self

from windlass.access.gate import Access
from windlass.access.policy import Permission
from windlass.exceptions import PermissionDenied
from windlass.principal import Principal

__all__ = ["Bound", "require_project_creator"]


class Bound:
    """The access gate and principal of a domain service, and per-principal copies of it."""

    #: Who calls are made as when a call names no principal.
    principal: Principal
    _access: Access

    def _bind(self, access: Access | None, principal: Principal) -> None:
        """Set the gate (default: off, no audit) and the default principal."""
        self._access = access if access is not None else Access()
        self.principal = principal

    def set_access(self, access: Access, principal: Principal) -> None:
        """Replace the gate and the default principal (a server adopting a service it owns)."""
        self._bind(access, principal)

    @property
    def access(self) -> Access:
        """Return the gate this service checks permissions and records mutations through."""
        return self._access

    def acting_as(self, principal: Principal) -> Self:
        """Return a copy of this service acting as ``principal`` (O(1): nothing is reopened).

        The copy shares the store, caches and locks of this one; only the principal differs.
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.principal = principal
        return clone

    def _who(self, principal: Principal | None) -> Principal:
        """Return the principal of a call: its own, else the bound one."""
        return principal if principal is not None else self.principal


def require_project_creator(access: Access, who: Principal, name: str) -> None:
    """Raise unless ``who`` may create the project ``name`` (auth on: a server admin).

    The PermissionDenied names the project, so an SDK creating a project on first use
    says what to ask for.
    """
    try:
        access.require(who, Permission.SERVER_ADMIN)
    except PermissionDenied:
        raise PermissionDenied(
            f"project {name!r} does not exist, and creating a project needs a server admin: "
            "ask one to create it (and give you a role in it)",
            permission=Permission.SERVER_ADMIN.value,
            project=name,
        ) from None
