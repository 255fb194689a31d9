"""Who may do what: the one rule every face (SDK, CLI, REST, UI) is checked against.

A :class:`Policy` answers one question, :meth:`Policy.require`: may this principal do an
operation needing this :class:`Permission` in this project? Domain services ask it on
every call, so the embedded SDK with auth on obeys the same rules as the server; routes
declare the permission they need (``x-windlass-permission`` in the OpenAPI document) so a
test can check the whole matrix. With auth off the policy allows everything.

The roles are cumulative (:class:`~windlass.principal.Role`): viewer reads, editor writes,
admin deletes, manages members, moves protected aliases and changes deployment weights.
A server admin is admin of every project and alone manages users and projects.
"""

from __future__ import annotations

from enum import StrEnum

from windlass.exceptions import PermissionDenied, Unauthenticated, WindlassError
from windlass.principal import Principal, Role

__all__ = ["ROLE_NEEDED", "Permission", "Policy"]


class Permission(StrEnum):
    """What an operation needs; every route declares one."""

    #: Anyone, even without credentials (health probes, metric scrapes).
    PUBLIC = "public"
    #: Any verified principal (its own tokens, the projects it may see).
    AUTHENTICATED = "authenticated"
    #: viewer of the object's project.
    READ = "read"
    #: editor of the object's project.
    WRITE = "write"
    #: admin of the object's project.
    ADMIN = "admin"
    #: a server admin (users, projects).
    SERVER_ADMIN = "server_admin"


#: The least role in a project that holds each project-level permission.
ROLE_NEEDED: dict[Permission, Role] = {
    Permission.READ: Role.VIEWER,
    Permission.WRITE: Role.EDITOR,
    Permission.ADMIN: Role.ADMIN,
}

_NO_CREDENTIALS = "authentication required: send an API token as a bearer token (WINDLASS_TOKEN)"


class Policy:
    """The permission rule, on (``enabled``) or off (every call allowed)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled

    def require(
        self,
        principal: Principal,
        permission: Permission,
        project_id: str | None = None,
        *,
        hidden: WindlassError | None = None,
    ) -> None:
        """Return if ``principal`` may act, else raise Unauthenticated or PermissionDenied.

        Project-level permissions (read, write, admin) need ``project_id``. ``hidden`` is the
        not-found error to raise instead of PermissionDenied when the principal has no role
        at all in the project, for objects addressed by id: whether an object of another
        project exists is never revealed.
        """
        if not self.enabled or permission is Permission.PUBLIC:
            return
        if not principal.authenticated:
            raise Unauthenticated(_NO_CREDENTIALS)
        if permission is Permission.AUTHENTICATED:
            return
        if permission is Permission.SERVER_ADMIN:
            if not principal.server_admin:
                raise PermissionDenied(
                    "this operation needs a server admin", permission=permission.value
                )
            return
        if project_id is None:
            raise ValueError(f"the {permission.value!r} permission needs a project")
        needed = ROLE_NEEDED[permission]
        role = principal.role_in(project_id)
        if role is None and hidden is not None:
            raise hidden
        if role is None or role < needed:
            raise PermissionDenied(
                f"this operation needs the {needed.value} role in the project; "
                f"{principal.name!r} has {'no role' if role is None else role.value + ' role'}",
                permission=permission.value,
                role_needed=needed.value,
            )

    def allows(self, principal: Principal, permission: Permission, project_id: str) -> bool:
        """Return whether :meth:`require` would let ``principal`` act (for filtering lists)."""
        try:
            self.require(principal, permission, project_id)
        except (Unauthenticated, PermissionDenied):
            return False
        return True
