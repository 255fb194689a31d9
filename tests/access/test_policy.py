"""The permission rule: roles are cumulative, token scopes cap them, off allows everything."""

from __future__ import annotations

import pytest

from windlass.access.policy import Permission, Policy
from windlass.exceptions import PermissionDenied, ProjectNotFound, RunNotFound, Unauthenticated
from windlass.principal import AuthMethod, Principal, Role

ON = Policy(enabled=True)


def _user(*roles: tuple[str, Role], admin: bool = False, scope: tuple[str, Role] | None = None):
    return Principal(
        "ada", auth=AuthMethod.TOKEN, user_id="u1", admin=admin, roles=roles, scope=scope
    )


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VIEWER, {Permission.READ}),
        (Role.EDITOR, {Permission.READ, Permission.WRITE}),
        (Role.ADMIN, {Permission.READ, Permission.WRITE, Permission.ADMIN}),
    ],
)
def test_each_role_holds_the_permissions_of_those_below(role: Role, allowed: set) -> None:
    principal = _user(("p1", role))
    for permission in (Permission.READ, Permission.WRITE, Permission.ADMIN):
        assert ON.allows(principal, permission, "p1") is (permission in allowed)
        assert ON.allows(principal, permission, "p2") is False
    with pytest.raises(PermissionDenied):
        ON.require(principal, Permission.SERVER_ADMIN)


def test_a_denial_names_the_role_needed() -> None:
    with pytest.raises(PermissionDenied) as caught:
        ON.require(_user(("p1", Role.VIEWER)), Permission.WRITE, "p1")
    assert caught.value.details == {"permission": "write", "role_needed": "editor"}
    assert "editor" in caught.value.message and "viewer" in caught.value.message


def test_an_unauthenticated_caller_gets_401_for_everything_but_public() -> None:
    local = Principal("ada")
    for permission in Permission:
        if permission is Permission.PUBLIC:
            ON.require(local, permission, "p1")
            continue
        with pytest.raises(Unauthenticated, match="WINDLASS_TOKEN"):
            ON.require(local, permission, "p1")


def test_a_server_admin_is_admin_everywhere_unless_a_token_scope_caps_it() -> None:
    admin = _user(admin=True)
    assert ON.allows(admin, Permission.ADMIN, "any")
    ON.require(admin, Permission.SERVER_ADMIN)
    scoped = _user(admin=True, scope=("p1", Role.VIEWER))
    assert ON.allows(scoped, Permission.READ, "p1")
    assert not ON.allows(scoped, Permission.WRITE, "p1")
    assert not ON.allows(scoped, Permission.READ, "p2")
    with pytest.raises(PermissionDenied):
        ON.require(scoped, Permission.SERVER_ADMIN)


def test_a_scope_never_raises_a_role() -> None:
    scoped = _user(("p1", Role.VIEWER), scope=("p1", Role.ADMIN))
    assert scoped.role_in("p1") is Role.VIEWER
    assert _user(scope=("p1", Role.ADMIN)).role_in("p1") is None


def test_objects_of_projects_without_a_role_look_missing() -> None:
    hidden = RunNotFound("run 'abc' not found")
    with pytest.raises(RunNotFound):
        ON.require(_user(("p2", Role.ADMIN)), Permission.READ, "p1", hidden=hidden)
    with pytest.raises(PermissionDenied):  # a member with too small a role is told so
        ON.require(_user(("p1", Role.VIEWER)), Permission.WRITE, "p1", hidden=hidden)
    assert isinstance(hidden, RunNotFound) and not isinstance(hidden, ProjectNotFound)


def test_off_allows_everything() -> None:
    off = Policy(enabled=False)
    for permission in Permission:
        off.require(Principal("ada"), permission, "p1")


def test_roles_order() -> None:
    assert Role.VIEWER < Role.EDITOR < Role.ADMIN
    assert max(Role.VIEWER, Role.ADMIN) is Role.ADMIN
