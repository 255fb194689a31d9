"""The access store interface: users, API tokens (by digest) and project members.

The SQL store (:mod:`windlass.store.sql.access`) and the REST client
(:mod:`windlass.store.rest.access`) implement it; the contract suite
``tests/store/test_access_contract.py`` holds both to it. Secrets never pass through it
in clear: a password arrives as its argon2 hash, a token as the SHA-256 digest of its
secret, and neither ever comes back out in an entity.

Over REST the server is the authority on identity: it looks tokens up and hashes
passwords itself, so the REST client answers :meth:`AccessStore.find_token` and a password
change with InvalidInput (authenticate by sending the token to the server instead).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from windlass.entities import Page
from windlass.entities.access import ApiToken, Member, User
from windlass.principal import Role

#: The largest page of users one call returns.
MAX_USER_RESULTS = 1000


class AccessStore(ABC):
    """Users, their API tokens and their roles in projects."""

    # -- users ---------------------------------------------------------------------------
    @abstractmethod
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
        """Create a user; a taken name raises AlreadyExists (unless it is this ``user_id``).

        ``oidc_subject`` links the user to an OpenID Connect identity (server side only);
        one identity has at most one user.
        """

    @abstractmethod
    def get_user(self, user_id: str) -> User:
        """Return a user by id, or raise NotFound."""

    @abstractmethod
    def get_user_by_name(self, name: str) -> User:
        """Return a user by name, or raise NotFound."""

    @abstractmethod
    def list_users(self, max_results: int = 100, page_token: str | None = None) -> Page[User]:
        """Return users ordered by name, one page at a time."""

    @abstractmethod
    def update_user(
        self,
        user_id: str,
        *,
        admin: bool | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
    ) -> User:
        """Change what is given (None: unchanged) and return the user, or raise NotFound."""

    @abstractmethod
    def password_hash(self, name: str) -> tuple[User, str | None]:
        """Return a user by name with its password hash (None: no password), or NotFound."""

    # -- tokens --------------------------------------------------------------------------
    @abstractmethod
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
        """Store a token by the SHA-256 hex ``digest`` of its secret (never the secret).

        The same ``token_id`` again returns the stored token (a retried create is safe); a
        digest already stored for another token raises AlreadyExists.
        """

    @abstractmethod
    def find_token(self, digest: str) -> tuple[ApiToken, User] | None:
        """Return the token whose secret has this digest, and its user (None: no such token).

        Revoked and expired tokens are returned too: the caller decides.
        """

    @abstractmethod
    def list_tokens(self, user_id: str | None = None) -> list[ApiToken]:
        """Return the tokens of one user (None: of every user), oldest first."""

    @abstractmethod
    def revoke_token(self, token_id: str, at: int) -> ApiToken:
        """Mark a token revoked at ``at`` (kept as revoked if it was) or raise NotFound."""

    # -- members -------------------------------------------------------------------------
    @abstractmethod
    def set_member(self, project_id: str, user_id: str, role: Role) -> Member:
        """Give a user ``role`` in a project (replacing any role it had there)."""

    @abstractmethod
    def remove_member(self, project_id: str, user_id: str) -> None:
        """Remove a user from a project, or raise NotFound if it was not a member."""

    @abstractmethod
    def list_members(self, project_id: str) -> list[Member]:
        """Return a project's members ordered by user name."""

    @abstractmethod
    def user_roles(self, user_id: str) -> list[tuple[str, Role]]:
        """Return ``(project_id, role)`` of every project the user is a member of."""
