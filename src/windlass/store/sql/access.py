"""The SQL access store: users, API tokens by digest, and project members.

A token is looked up by the SHA-256 digest of its secret through a unique index: one
indexed equality lookup per authentication (the cache of
:class:`~windlass.access.identity.Identity` saves even that for a few seconds).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Row

from windlass.entities import Page
from windlass.entities.access import ApiToken, Member, User
from windlass.exceptions import AlreadyExists, NotFound
from windlass.principal import Role
from windlass.store.access import MAX_USER_RESULTS, AccessStore
from windlass.store.paging import check_max_results, decode_token, encode_token
from windlass.store.sql import lookups
from windlass.store.sql import schema as s
from windlass.store.sql.database import Database

_u, _t, _m = s.users, s.api_tokens, s.project_members


def _user(row: Row[Any, Any]) -> User:
    return User(
        id=row.id,
        name=row.name,
        admin=bool(row.admin),
        disabled=bool(row.disabled),
        created_at=row.created_at,
        has_password=row.password_hash is not None,
        oidc_subject=row.oidc_subject,
    )


def _token(row: Row[Any, Any], user_name: str) -> ApiToken:
    return ApiToken(
        id=row.id,
        user_id=row.user_id,
        user_name=user_name,
        name=row.name,
        hint=row.hint,
        created_at=row.created_at,
        expires_at=row.expires_at,
        scope_project_id=row.scope_project_id,
        scope_role=None if row.scope_role is None else Role(row.scope_role),
        revoked_at=row.revoked_at,
    )


def _user_not_found(**details: str) -> NotFound:
    (key, value), *_ = details.items()
    return NotFound(f"user {key} {value!r} does not exist", **details)


# The token columns and its user's name, for every token query.
_TOKEN_COLUMNS = (*_t.c, _u.c.name.label("user_name"))


class SqlAccessStore(AccessStore):
    """Users, tokens and members over SQLAlchemy Core."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- users ---------------------------------------------------------------------------
    @staticmethod
    def _user_row(conn: Connection, user_id: str) -> Row[Any, Any]:
        row = conn.execute(select(_u).where(_u.c.id == user_id)).first()
        if row is None:
            raise _user_not_found(id=user_id)
        return row

    def create_user(
        self,
        *,
        user_id: str,
        name: str,
        admin: bool,
        password_hash: str | None,
        created_at: int,
        oidc_subject: str | None = None,
    ) -> User:
        """Create a user (the same id and name again returns it as it is)."""
        with self._db.write() as conn:
            created = conn.execute(
                self._db.insert(_u)
                .values(
                    id=user_id,
                    name=name,
                    admin=admin,
                    disabled=False,
                    password_hash=password_hash,
                    created_at=created_at,
                    oidc_subject=oidc_subject,
                )
                .on_conflict_do_nothing()
                .returning(_u.c.id)
            ).first()
            if created is None:
                existing = conn.execute(select(_u).where(_u.c.name == name)).first()
                if existing is not None and existing.id == user_id:
                    return _user(existing)
                if existing is None and oidc_subject is not None:
                    taken = conn.execute(select(_u.c.id).where(_u.c.oidc_subject == oidc_subject))
                    if taken.first() is not None:
                        raise AlreadyExists(
                            "another user already belongs to this OIDC identity",
                            oidc_subject=oidc_subject,
                        )
                if existing is None:
                    raise AlreadyExists(
                        f"user id {user_id} already belongs to another user", user_id=user_id
                    )
                raise AlreadyExists(f"user {name!r} already exists", user=name)
        return User(
            user_id, name, admin, False, created_at, password_hash is not None, oidc_subject
        )

    def get_user(self, user_id: str) -> User:
        """Return a user by id."""
        with self._db.read() as conn:
            return _user(self._user_row(conn, user_id))

    def get_user_by_name(self, name: str) -> User:
        """Return a user by name."""
        with self._db.read() as conn:
            row = conn.execute(select(_u).where(_u.c.name == name)).first()
        if row is None:
            raise _user_not_found(name=name)
        return _user(row)

    def list_users(self, max_results: int = 100, page_token: str | None = None) -> Page[User]:
        """Return users ordered by name, keyset-paged."""
        check_max_results(max_results, MAX_USER_RESULTS)
        query = select(_u).order_by(_u.c.name).limit(max_results + 1)
        if page_token:
            query = query.where(_u.c.name > decode_token(page_token, "users", {"n": str})["n"])
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        items = [_user(r) for r in rows[:max_results]]
        token = (
            encode_token({"k": "users", "n": items[-1].name}) if len(rows) > max_results else None
        )
        return Page(items, token)

    def update_user(
        self,
        user_id: str,
        *,
        admin: bool | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
    ) -> User:
        """Change the fields given and return the user."""
        values: dict[str, Any] = {}
        if admin is not None:
            values["admin"] = admin
        if disabled is not None:
            values["disabled"] = disabled
        if password_hash is not None:
            values["password_hash"] = password_hash
        with self._db.write() as conn:
            self._user_row(conn, user_id)
            if values:
                conn.execute(update(_u).where(_u.c.id == user_id).values(**values))
            return _user(self._user_row(conn, user_id))

    def password_hash(self, name: str) -> tuple[User, str | None]:
        """Return a user by name and its password hash."""
        with self._db.read() as conn:
            row = conn.execute(select(_u).where(_u.c.name == name)).first()
        if row is None:
            raise _user_not_found(name=name)
        return _user(row), row.password_hash

    # -- tokens --------------------------------------------------------------------------
    def create_token(
        self,
        *,
        token_id: str,
        user_id: str,
        name: str,
        digest: str,
        hint: str,
        created_at: int,
        expires_at: int | None = None,
        scope_project_id: str | None = None,
        scope_role: Role | None = None,
    ) -> ApiToken:
        """Store a token by its digest (the same id again returns it)."""
        with self._db.write() as conn:
            user = self._user_row(conn, user_id)
            if scope_project_id is not None:
                lookups.require_project(conn, scope_project_id)
            created = conn.execute(
                self._db.insert(_t)
                .values(
                    id=token_id,
                    user_id=user_id,
                    name=name,
                    digest=digest,
                    hint=hint,
                    created_at=created_at,
                    expires_at=expires_at,
                    scope_project_id=scope_project_id,
                    scope_role=None if scope_role is None else scope_role.value,
                )
                .on_conflict_do_nothing()
                .returning(_t.c.id)
            ).first()
            if created is None:
                existing = conn.execute(select(_t).where(_t.c.id == token_id)).first()
                if existing is not None and existing.digest == digest:
                    return _token(existing, user.name)
                raise AlreadyExists("that token id or secret is already stored", token_id=token_id)
        return ApiToken(
            id=token_id,
            user_id=user_id,
            user_name=user.name,
            name=name,
            hint=hint,
            created_at=created_at,
            expires_at=expires_at,
            scope_project_id=scope_project_id,
            scope_role=scope_role,
        )

    def find_token(self, digest: str) -> tuple[ApiToken, User] | None:
        """Return the token with this digest and its user, in one indexed query."""
        query = select(_t, *(c.label(f"u_{c.name}") for c in _u.c)).join(
            _u, _u.c.id == _t.c.user_id
        )
        with self._db.read() as conn:
            row = conn.execute(query.where(_t.c.digest == digest)).first()
        if row is None:
            return None
        user = User(
            id=row.u_id,
            name=row.u_name,
            admin=bool(row.u_admin),
            disabled=bool(row.u_disabled),
            created_at=row.u_created_at,
            has_password=row.u_password_hash is not None,
        )
        return _token(row, user.name), user

    def list_tokens(self, user_id: str | None = None) -> list[ApiToken]:
        """Return tokens (of one user, or all), oldest first."""
        query = (
            select(*_TOKEN_COLUMNS)
            .join(_u, _u.c.id == _t.c.user_id)
            .order_by(_t.c.created_at, _t.c.id)
        )
        if user_id is not None:
            query = query.where(_t.c.user_id == user_id)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [_token(r, r.user_name) for r in rows]

    def revoke_token(self, token_id: str, at: int) -> ApiToken:
        """Mark a token revoked (the first revocation's time is kept)."""
        query = select(*_TOKEN_COLUMNS).join(_u, _u.c.id == _t.c.user_id)
        with self._db.write() as conn:
            conn.execute(
                update(_t)
                .where(_t.c.id == token_id, _t.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            row = conn.execute(query.where(_t.c.id == token_id)).first()
        if row is None:
            raise NotFound(f"token {token_id!r} does not exist", token_id=token_id)
        return _token(row, row.user_name)

    # -- members -------------------------------------------------------------------------
    def set_member(self, project_id: str, user_id: str, role: Role) -> Member:
        """Give a user a role in a project."""
        with self._db.write() as conn:
            lookups.require_project(conn, project_id)
            user = self._user_row(conn, user_id)
            conn.execute(
                self._db.insert(_m)
                .values(project_id=project_id, user_id=user_id, role=role.value)
                .on_conflict_do_update(
                    index_elements=[_m.c.project_id, _m.c.user_id], set_={"role": role.value}
                )
            )
        return Member(project_id, user_id, user.name, role)

    def remove_member(self, project_id: str, user_id: str) -> None:
        """Remove a user from a project."""
        with self._db.write() as conn:
            removed = conn.execute(
                delete(_m).where(_m.c.project_id == project_id, _m.c.user_id == user_id)
            ).rowcount
        if not removed:
            raise NotFound(
                f"user id {user_id!r} is not a member of project id {project_id!r}",
                project_id=project_id,
                user_id=user_id,
            )

    def list_members(self, project_id: str) -> list[Member]:
        """Return a project's members by user name."""
        query = (
            select(_m, _u.c.name)
            .join(_u, _u.c.id == _m.c.user_id)
            .where(_m.c.project_id == project_id)
            .order_by(_u.c.name)
        )
        with self._db.read() as conn:
            lookups.require_project(conn, project_id)
            rows = conn.execute(query).all()
        return [Member(r.project_id, r.user_id, r.name, Role(r.role)) for r in rows]

    def user_roles(self, user_id: str) -> list[tuple[str, Role]]:
        """Return the user's ``(project_id, role)`` pairs."""
        query = select(_m.c.project_id, _m.c.role).where(_m.c.user_id == user_id)
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(_m.c.project_id)).all()
        return [(r.project_id, Role(r.role)) for r in rows]
