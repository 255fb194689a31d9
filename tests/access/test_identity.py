"""Identity: bootstrap, tokens (scope, expiry, revocation, the cache), members, passwords.

Over a real SQLite store with the policy on, as a server with ``WINDLASS_AUTH=on`` runs it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from windlass.access.identity import BAD_CREDENTIALS, Identity
from windlass.access.policy import Policy
from windlass.exceptions import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from windlass.ids import new_id, now_ms
from windlass.principal import AuthMethod, Principal, Role
from windlass.store.sql.store import SqlStore

LOCAL = Principal("someone")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    sql = SqlStore(f"sqlite:///{tmp_path / 'id.db'}")
    yield sql
    sql.close()


@pytest.fixture
def identity(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> Identity:
    monkeypatch.setenv("WINDLASS_AUTH_CACHE_SECONDS", "0")
    return Identity(store, Policy(enabled=True))


def _root(identity: Identity) -> Principal:
    """Return the principal of a token of user ``root`` (a server admin)."""
    root = identity.store.access.get_user_by_name("root")
    principal = Principal("root", auth=AuthMethod.TOKEN, user_id=root.id, admin=True)
    return identity.authenticate(identity.create_token(principal)[1])


def _admin(identity: Identity) -> Principal:
    """Bootstrap the first admin and return its authenticated principal."""
    identity.create_user(LOCAL, "root", bootstrap=True)
    return _root(identity)


def test_bootstrap_makes_the_first_user_an_admin_once(identity: Identity) -> None:
    with pytest.raises(Unauthenticated):  # no bootstrap: a local principal is nobody
        identity.create_user(LOCAL, "root")
    first = identity.create_user(LOCAL, "root", bootstrap=True)
    assert first.admin
    with pytest.raises(Unauthenticated):  # only while no user exists
        identity.create_user(LOCAL, "second", bootstrap=True)
    admin = _root(identity)
    made = identity.create_user(admin, "ada", password="correct horse")
    assert not made.admin and made.has_password
    user = identity.authenticate(identity.create_token(admin, user="ada")[1])
    with pytest.raises(PermissionDenied):
        identity.create_user(user, "eve")
    with pytest.raises(InvalidInput):
        identity.create_user(admin, "bad name!")


def test_a_token_authenticates_as_its_user_with_roles_and_address(
    identity: Identity, store: SqlStore
) -> None:
    admin = _admin(identity)
    project = store.runs.get_or_create_project("churn", new_id(), now_ms())
    identity.create_user(admin, "ada")
    identity.set_member(admin, "churn", "ada", Role.EDITOR)
    token, secret = identity.create_token(admin, name="ci", user="ada")
    assert secret.startswith("wl_") and token.hint == secret[:7] and token.user_name == "ada"
    who = identity.authenticate(secret, "10.0.0.7")
    assert (who.name, who.auth, who.admin, who.address) == (
        "ada",
        AuthMethod.TOKEN,
        False,
        "10.0.0.7",
    )
    assert who.roles == ((project.id, Role.EDITOR),) and who.role_in(project.id) is Role.EDITOR


def test_failures_are_one_generic_401(identity: Identity, store: SqlStore) -> None:
    admin = _admin(identity)
    identity.create_user(admin, "ada")
    _t, expired = identity.create_token(admin, user="ada", expires_in_seconds=1)
    revoked_token, revoked = identity.create_token(admin, user="ada")
    identity.revoke_token(admin, revoked_token.id)
    _t, of_disabled = identity.create_token(admin, user="ada")
    time.sleep(1.05)
    identity.disable_user(admin, "ada")
    for secret in ("", "nope", "wl_" + "x" * 43, expired, revoked, of_disabled, "wl_" + "y" * 500):
        with pytest.raises(Unauthenticated) as caught:
            identity.authenticate(secret)
        assert caught.value.message == BAD_CREDENTIALS
    identity.enable_user(admin, "ada")
    identity.authenticate(of_disabled)  # works again


def test_each_failed_authentication_is_audited_once_without_its_secret(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from windlass.access import actions
    from windlass.access.audit import AuditTrail

    monkeypatch.setenv("WINDLASS_AUTH_CACHE_SECONDS", "0")
    trail = AuditTrail(store, Policy(enabled=True))
    identity = Identity(store, Policy(enabled=True), audit=trail)
    admin = _admin(identity)
    identity.create_user(admin, "ada", password="correct horse")
    identity.create_user(admin, "bob", password="battery staple")
    expired_token, expired = identity.create_token(admin, user="ada", expires_in_seconds=1)
    revoked_token, revoked = identity.create_token(admin, user="ada")
    identity.revoke_token(admin, revoked_token.id)
    bobs_token, of_disabled = identity.create_token(admin, user="bob")
    time.sleep(1.05)
    identity.disable_user(admin, "bob")
    unknown = "wl_" + "q" * 43
    pasted = identity.create_token(admin, user="ada")[1]  # a token typed as a user name
    tried = [
        (lambda: identity.authenticate("nope", "10.0.0.9"), "anonymous", "token", "tokens:/?"),
        (lambda: identity.authenticate(unknown, "10.0.0.9"), "anonymous", "token", "tokens:/?"),
        (
            lambda: identity.authenticate(expired, "10.0.0.9"),
            "ada",
            "token",
            f"tokens:/{expired_token.id}",
        ),
        (
            lambda: identity.authenticate(revoked, "10.0.0.9"),
            "ada",
            "token",
            f"tokens:/{revoked_token.id}",
        ),
        (
            lambda: identity.authenticate(of_disabled, "10.0.0.9"),
            "bob",
            "token",
            f"tokens:/{bobs_token.id}",
        ),
        (lambda: identity.login("ada", "wrong horse", "10.0.0.9"), "ada", "password", "users:/ada"),
        (
            lambda: identity.login("bob", "battery staple", "10.0.0.9"),
            "bob",
            "password",
            "users:/bob",
        ),
        (
            lambda: identity.login("nobody", "open sesame", "10.0.0.9"),
            "nobody",
            "password",
            "users:/nobody",
        ),
        (
            lambda: identity.login("no one!", "open sesame", "10.0.0.9"),
            "anonymous",
            "password",
            "users:/?",
        ),
        (
            lambda: identity.login(pasted, "open sesame", "10.0.0.9"),
            "anonymous",
            "password",
            "users:/?",
        ),
    ]
    for attempt, principal, method, uri in tried:
        before = len(trail.list(admin, action=actions.AUTH_FAIL).items)
        with pytest.raises(Unauthenticated) as caught:
            attempt()
        assert caught.value.message == BAD_CREDENTIALS  # the caller learns nothing more
        records = trail.list(admin, action=actions.AUTH_FAIL).items
        assert len(records) == before + 1, uri
        got = records[0]
        assert (got.principal, got.auth_method, got.object_uri) == (principal, method, uri)
        assert got.address == "10.0.0.9" and got.project_id is None
    reasons = [r.after["reason"] for r in reversed(trail.list(admin, action="auth.fail").items)]
    assert reasons == [
        "malformed token",
        "unknown token",
        "token expired",
        "token revoked",
        "user disabled",
        "wrong password",
        "user disabled",
        "unknown user",
        "malformed user name",
        "malformed user name",
    ]
    # Asked not to (the server, once an address is over its failure limit): no record.
    count = len(trail.list(admin, max_results=1000).items)
    with pytest.raises(Unauthenticated):
        identity.authenticate(unknown, "10.0.0.9", audit_failure=False)
    with pytest.raises(Unauthenticated):
        identity.login("ada", "wrong horse", audit_failure=False)
    identity.login("ada", "correct horse")  # a success is not a mutation: no record
    identity.authenticate(pasted)
    everything = trail.list(admin, max_results=1000).items
    assert len(everything) == count
    dump = repr(everything)
    for secret in (expired, revoked, of_disabled, unknown, pasted, "wrong horse", "open sesame"):
        assert secret not in dump and secret[3:] not in dump


def test_a_scoped_token_never_exceeds_its_creator(identity: Identity, store: SqlStore) -> None:
    admin = _admin(identity)
    churn = store.runs.get_or_create_project("churn", new_id(), now_ms())
    store.runs.get_or_create_project("fraud", new_id(), now_ms())
    identity.create_user(admin, "ada")
    identity.set_member(admin, "churn", "ada", Role.EDITOR)
    ada = identity.authenticate(identity.create_token(admin, user="ada")[1])
    with pytest.raises(PermissionDenied):  # more than her role
        identity.create_token(ada, project="churn", role="admin")
    with pytest.raises(PermissionDenied):  # a project she is not in
        identity.create_token(ada, project="fraud", role="viewer")
    _t, secret = identity.create_token(ada, project="churn", role="viewer")
    scoped = identity.authenticate(secret)
    assert scoped.scope == (churn.id, Role.VIEWER) and scoped.role_in(churn.id) is Role.VIEWER
    with pytest.raises(PermissionDenied):  # a scoped token cannot make an unscoped one
        identity.create_token(scoped)
    with pytest.raises(PermissionDenied):  # nor a token for someone else
        identity.create_token(ada, user="root")
    with pytest.raises(InvalidInput):
        identity.create_token(ada, project="churn")
    with pytest.raises(InvalidInput):
        identity.create_token(ada, expires_in_seconds=0)


def test_users_see_and_revoke_only_their_own_tokens(identity: Identity) -> None:
    admin = _admin(identity)
    for name in ("ada", "bob"):
        identity.create_user(admin, name)
    ada = identity.authenticate(identity.create_token(admin, user="ada")[1])
    bob_token, _s = identity.create_token(admin, user="bob")
    assert {t.user_name for t in identity.list_tokens(ada)} == {"ada"}
    assert {t.user_name for t in identity.list_tokens(admin)} == {"root", "ada", "bob"}
    with pytest.raises(NotFound):  # another user's token is as absent as a missing one
        identity.revoke_token(ada, bob_token.id)
    with pytest.raises(PermissionDenied):
        identity.list_users(ada)


def test_the_cache_is_cleared_by_revoke_disable_and_member_changes(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_AUTH_CACHE_SECONDS", "60")
    identity = Identity(store, Policy(enabled=True))
    admin = _admin(identity)
    project = store.runs.get_or_create_project("churn", new_id(), now_ms())
    identity.create_user(admin, "ada")
    token, secret = identity.create_token(admin, user="ada")
    assert identity.authenticate(secret).roles == ()
    # A change behind the service's back is not seen while cached...
    store.access.set_member(project.id, token.user_id, Role.VIEWER)
    assert identity.authenticate(secret).roles == ()
    # ...but a change through it is, at once.
    identity.set_member(admin, "churn", "ada", Role.EDITOR)
    assert identity.authenticate(secret).roles == ((project.id, Role.EDITOR),)
    identity.disable_user(admin, "ada")
    with pytest.raises(Unauthenticated):
        identity.authenticate(secret)
    identity.enable_user(admin, "ada")
    identity.authenticate(secret)
    identity.revoke_token(admin, token.id)
    with pytest.raises(Unauthenticated):
        identity.authenticate(secret)


def test_members_need_project_admin_and_hide_other_projects(
    identity: Identity, store: SqlStore
) -> None:
    admin = _admin(identity)
    store.runs.get_or_create_project("churn", new_id(), now_ms())
    store.runs.get_or_create_project("fraud", new_id(), now_ms())
    for name in ("ada", "bob"):
        identity.create_user(admin, name)
    identity.set_member(admin, "churn", "ada", Role.VIEWER)
    ada = identity.authenticate(identity.create_token(admin, user="ada")[1])
    assert [m.user_name for m in identity.list_members(ada, "churn")] == ["ada"]
    with pytest.raises(PermissionDenied):
        identity.set_member(ada, "churn", "bob", Role.VIEWER)
    with pytest.raises(NotFound) as hidden:  # no role there: as if it did not exist
        identity.list_members(ada, "fraud")
    assert hidden.value.error_code == "PROJECT_NOT_FOUND"
    with pytest.raises(InvalidInput):
        identity.set_member(admin, "churn", "bob", "owner")
    identity.remove_member(admin, "churn", "ada")
    assert identity.list_members(admin, "churn") == []


def test_passwords_are_argon2_hashes_and_tokens_never_stored_in_clear(
    identity: Identity, store: SqlStore
) -> None:
    admin = _admin(identity)
    identity.create_user(admin, "ada", password="correct horse")
    _t, secret = identity.create_token(admin, user="ada")
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE name='ada'")).scalar()
        dump = "\n".join(str(r) for r in conn.execute(text("SELECT * FROM api_tokens")))
        dump += "\n".join(str(r) for r in conn.execute(text("SELECT * FROM users")))
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert secret not in dump and secret[7:] not in dump
    who = identity.login("ada", "correct horse", "10.0.0.1")
    assert who.auth is AuthMethod.PASSWORD and who.name == "ada"
    for name, password in (("ada", "wrong horse"), ("nobody", "correct horse")):
        with pytest.raises(Unauthenticated) as caught:
            identity.login(name, password)
        assert caught.value.message == BAD_CREDENTIALS
    with pytest.raises(InvalidInput):
        identity.create_user(admin, "bob", password="short")


def test_auth_off_allows_everything_but_needs_a_user_for_a_token(store: SqlStore) -> None:
    identity = Identity(store, Policy(enabled=False))
    identity.create_user(LOCAL, "ada")
    identity.create_user(LOCAL, "bob", admin=True)
    with pytest.raises(InvalidInput, match="name the user"):
        identity.create_token(LOCAL)
    token, _secret = identity.create_token(LOCAL, user="ada")
    assert [t.id for t in identity.list_tokens(LOCAL)] == [token.id]


def test_the_embedded_sdk_with_auth_on_is_the_user_of_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from windlass import Client

    uri = f"sqlite:///{tmp_path / 'sdk.db'}"
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        _admin(identity)
        secret = identity.create_token(_root(identity), name="sdk")[1]
    finally:
        store.close()
    monkeypatch.setenv("WINDLASS_AUTH", "on")
    monkeypatch.delenv("WINDLASS_TOKEN", raising=False)
    client = Client(uri, artifact_uri=str(tmp_path / "a"))
    with pytest.raises(Unauthenticated, match="WINDLASS_TOKEN"):
        client.principal  # noqa: B018 - the first use checks the token
    monkeypatch.setenv("WINDLASS_TOKEN", "wl_" + "z" * 43)
    with pytest.raises(Unauthenticated):
        Client(uri, artifact_uri=str(tmp_path / "a")).principal  # noqa: B018
    monkeypatch.setenv("WINDLASS_TOKEN", secret)
    with Client(uri, artifact_uri=str(tmp_path / "a")) as authed:
        assert (authed.principal.name, authed.principal.auth) == ("root", AuthMethod.TOKEN)
        assert authed.tracking.principal.user_id == authed.principal.user_id


def test_every_identity_change_is_audited_once_and_no_secret_is(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from windlass.access import actions
    from windlass.access.audit import AuditTrail

    trail = AuditTrail(store, Policy(enabled=True))
    identity = Identity(store, Policy(enabled=True), audit=trail)
    admin = _admin(identity)  # bootstrap: user.create, then a token of root's
    store.runs.get_or_create_project("churn", new_id(), now_ms())
    identity.create_user(admin, "ada", password="correct horse")
    token, secret = identity.create_token(admin, user="ada", name="ci")
    identity.set_member(admin, "churn", "ada", Role.EDITOR)
    identity.set_member(admin, "churn", "ada", Role.VIEWER)
    identity.remove_member(admin, "churn", "ada")
    identity.revoke_token(admin, token.id)
    identity.disable_user(admin, "ada")
    records = list(reversed(trail.list(admin, max_results=100).items))
    assert [r.action for r in records] == [
        "user.create",
        "token.create",
        "user.create",
        "token.create",
        "member.set",
        "member.set",
        "member.remove",
        "token.revoke",
        "user.update",
    ]
    assert records[4].object_uri == "projects:/churn/members/ada"
    assert records[5].before["role"] == "editor" and records[5].after["role"] == "viewer"
    assert {r.principal for r in records[2:]} == {"root"}
    # Every identity action but auth.fail (its own test) is named in the table.
    assert {r.action for r in records} == set(actions.IDENTITY_ACTIONS) - {actions.AUTH_FAIL}
    dump = repr(records)
    assert secret not in dump and "correct horse" not in dump and "argon2" not in dump


def test_the_embedded_sdk_with_auth_on_checks_roles_and_audits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store used directly obeys the server's rules: a viewer's token cannot write."""
    from windlass import Client
    from windlass.access.audit import AuditTrail

    uri = f"sqlite:///{tmp_path / 'sdk.db'}"
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        root = _admin(identity)
        store.runs.get_or_create_project("churn", new_id(), now_ms())
        identity.create_user(root, "vic")
        identity.set_member(root, "churn", "vic", Role.VIEWER)
        viewer_secret = identity.create_token(root, user="vic", name="v")[1]
        root_secret = identity.create_token(root, name="r")[1]
    finally:
        store.close()
    monkeypatch.setenv("WINDLASS_AUTH", "on")
    artifacts = str(tmp_path / "a")
    monkeypatch.setenv("WINDLASS_TOKEN", root_secret)
    admin = Client(uri, project="churn", artifact_uri=artifacts)
    with admin, admin.runs.start(name="by-root") as run:
        admin.runs.log_params({"depth": 3})
    monkeypatch.setenv("WINDLASS_TOKEN", viewer_secret)
    with Client(uri, project="churn", artifact_uri=artifacts) as viewer:
        assert viewer.runs.get(run.id).name == "by-root"
        with pytest.raises(PermissionDenied, match="editor"):
            viewer.runs.start(name="by-vic")
    store = SqlStore(uri)
    try:
        records = AuditTrail(store, Policy(enabled=False)).list(Principal("x")).items
    finally:
        store.close()
    assert {(r.principal, r.action) for r in records} >= {
        ("root", "run.create"),
        ("root", "run.params"),
    }
    assert not [r for r in records if r.principal == "vic"]
