"""The access contract of every MetadataStore: SQLite, PostgreSQL, REST.

The REST store goes through the server's identity routes (the shared test server runs with
auth off, so every call is allowed); the server makes ids, times and token secrets itself,
so over REST tokens are made through ``POST /api/v1/tokens`` and the parts of the
interface that would carry a secret's hash raise InvalidInput.
"""

from __future__ import annotations

import httpx
import pytest

from windlass.access.credentials import new_token
from windlass.entities.access import ApiToken, User
from windlass.exceptions import AlreadyExists, InvalidInput, NotFound, ProjectNotFound
from windlass.ids import new_id, now_ms
from windlass.principal import Role
from windlass.store.metadata import MetadataStore
from windlass.store.rest.store import RestStore


def _name(prefix: str) -> str:
    return f"{prefix}-{new_id()[-12:]}"


def _user(store: MetadataStore, *, admin: bool = False) -> User:
    return store.access.create_user(
        user_id=new_id(), name=_name("u"), admin=admin, password_hash=None, created_at=now_ms()
    )


def _project(store: MetadataStore) -> str:
    return store.runs.get_or_create_project(_name("acc"), new_id(), now_ms()).id


def _token(
    store: MetadataStore,
    user: User,
    *,
    project_id: str | None = None,
    role: Role | None = None,
    expires_at: int | None = None,
) -> ApiToken:
    if isinstance(store, RestStore):  # the server makes the secret
        body: dict[str, object] = {"name": "t", "user": user.name}
        if project_id is not None and role is not None:
            body |= {"project": project_id, "role": role.value}
        answer = httpx.post(f"{store.base_url}/api/v1/tokens", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["secret"].startswith("wl_")
        return next(
            t for t in store.access.list_tokens(user.id) if t.id == answer.json()["token"]["id"]
        )
    _secret, digest, hint = new_token()
    return store.access.create_token(
        token_id=new_id(),
        user_id=user.id,
        name="t",
        digest=digest,
        hint=hint,
        created_at=now_ms(),
        expires_at=expires_at,
        scope_project_id=project_id,
        scope_role=role,
    )


def test_users_are_created_found_listed_and_updated(store: MetadataStore) -> None:
    user = _user(store, admin=True)
    assert user.admin and not user.disabled and not user.has_password
    assert store.access.get_user(user.id) == user
    assert store.access.get_user_by_name(user.name) == user
    again = store.access.create_user(  # a retried create (same id) returns the user
        user_id=user.id, name=user.name, admin=True, password_hash=None, created_at=now_ms()
    )
    assert again == user
    with pytest.raises(AlreadyExists):
        store.access.create_user(
            user_id=new_id(), name=user.name, admin=False, password_hash=None, created_at=now_ms()
        )
    changed = store.access.update_user(user.id, disabled=True, admin=False)
    assert changed.disabled and not changed.admin and changed.name == user.name
    assert store.access.get_user(user.id) == changed
    with pytest.raises(NotFound):
        store.access.get_user_by_name(_name("nobody"))
    with pytest.raises(NotFound):
        store.access.update_user(new_id(), disabled=True)


def test_users_are_paged_by_name(store: MetadataStore) -> None:
    for _ in range(3):
        _user(store)
    names: list[str] = []
    token: str | None = None
    while True:
        page = store.access.list_users(2, token)
        assert len(page.items) <= 2
        names += [u.name for u in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert names == sorted(names) and len(names) == len(set(names)) >= 3


def test_members_get_replace_and_lose_roles(store: MetadataStore) -> None:
    project, other = _project(store), _project(store)
    ada, bob = _user(store), _user(store)
    member = store.access.set_member(project, ada.id, Role.VIEWER)
    assert (member.user_name, member.role) == (ada.name, Role.VIEWER)
    store.access.set_member(project, ada.id, Role.EDITOR)  # replaces
    store.access.set_member(project, bob.id, Role.ADMIN)
    store.access.set_member(other, ada.id, Role.ADMIN)
    listed = [(m.user_name, m.role) for m in store.access.list_members(project)]
    assert listed == sorted([(ada.name, Role.EDITOR), (bob.name, Role.ADMIN)])
    assert sorted(store.access.user_roles(ada.id)) == sorted(
        [(project, Role.EDITOR), (other, Role.ADMIN)]
    )
    store.access.remove_member(project, ada.id)
    assert store.access.user_roles(ada.id) == [(other, Role.ADMIN)]
    with pytest.raises(NotFound):
        store.access.remove_member(project, ada.id)
    with pytest.raises(ProjectNotFound):
        store.access.list_members(new_id())


def test_tokens_are_listed_and_revoked_never_showing_their_secret(store: MetadataStore) -> None:
    project = _project(store)
    ada, bob = _user(store), _user(store)
    store.access.set_member(project, ada.id, Role.EDITOR)
    first = _token(store, ada)
    scoped = _token(store, ada, project_id=project, role=Role.VIEWER)
    _token(store, bob)
    assert first.hint.startswith("wl_") and first.user_name == ada.name
    assert (scoped.scope_project_id, scoped.scope_role) == (project, Role.VIEWER)
    assert [t.id for t in store.access.list_tokens(ada.id)] == [first.id, scoped.id]
    assert {first.id, scoped.id} <= {t.id for t in store.access.list_tokens()}
    assert not any("digest" in t.to_dict() for t in store.access.list_tokens())
    revoked = store.access.revoke_token(first.id, now_ms())
    assert revoked.revoked_at is not None and revoked.id == first.id
    again = store.access.revoke_token(first.id, now_ms() + 1000)
    assert again.revoked_at == revoked.revoked_at  # the first revocation's time is kept
    with pytest.raises(NotFound):
        store.access.revoke_token(new_id(), now_ms())


def test_tokens_are_found_by_digest_only(store: MetadataStore) -> None:
    if isinstance(store, RestStore):
        with pytest.raises(InvalidInput):
            store.access.find_token("0" * 64)
        with pytest.raises(InvalidInput):
            store.access.password_hash("ada")
        return
    ada = _user(store)
    secret, digest, hint = new_token()
    made = store.access.create_token(
        token_id=new_id(), user_id=ada.id, name="ci", digest=digest, hint=hint, created_at=1
    )
    assert (
        store.access.create_token(  # a retried create returns the same token
            token_id=made.id, user_id=ada.id, name="ci", digest=digest, hint=hint, created_at=1
        )
        == made
    )
    with pytest.raises(AlreadyExists):  # one digest, one token
        store.access.create_token(
            token_id=new_id(), user_id=ada.id, name="x", digest=digest, hint=hint, created_at=1
        )
    found = store.access.find_token(digest)
    assert found is not None and found[0] == made and found[1] == ada
    assert store.access.find_token(new_token()[1]) is None
    assert secret not in repr(made)
    with pytest.raises(NotFound):
        store.access.create_token(
            token_id=new_id(),
            user_id=new_id(),
            name="x",
            digest="1" * 64,
            hint="wl_x",
            created_at=1,
        )


def test_a_user_may_be_linked_to_one_oidc_identity(store: MetadataStore) -> None:
    link = f"https://idp.example.com {new_id()}"
    plain = _user(store)
    assert (plain.oidc_subject, plain.kind) == (None, "local")
    if isinstance(store, RestStore):  # only the server's OIDC sign-in links users
        with pytest.raises(InvalidInput, match="OIDC subject"):
            store.access.create_user(
                user_id=new_id(),
                name=_name("o"),
                admin=False,
                password_hash=None,
                created_at=now_ms(),
                oidc_subject=link,
            )
        return
    made = store.access.create_user(
        user_id=new_id(),
        name=_name("o"),
        admin=False,
        password_hash=None,
        created_at=now_ms(),
        oidc_subject=link,
    )
    assert (made.oidc_subject, made.kind) == (link, "oidc")
    found = store.access.get_user_by_name(made.name)
    assert (found.oidc_subject, found.to_dict()["kind"]) == (link, "oidc")
    with pytest.raises(AlreadyExists, match="OIDC identity"):
        store.access.create_user(
            user_id=new_id(),
            name=_name("o"),
            admin=False,
            password_hash=None,
            created_at=now_ms(),
            oidc_subject=link,
        )
