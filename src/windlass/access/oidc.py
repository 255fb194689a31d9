"""OpenID Connect sign-in: a verified identity becomes a windlass user, its roles and a token.

The server verifies an ID token (its signature against the provider's keys, issuer,
audience, expiry, nonce: :mod:`windlass.server.oidc`) and hands this module the
:class:`OidcIdentity` it proves. :meth:`OidcAccounts.sign_in` then

- finds the user the identity created on its first sign-in, or creates it (named by
  ``WINDLASS_OIDC_USERNAME_CLAIM``, linked to the identity by ``<issuer> <sub>``). A name
  taken by a local user or by another identity is refused: an identity provider never
  signs anyone in as an existing password or token user. A disabled user is refused;
- applies the claim → role mapping (``WINDLASS_OIDC_ROLES``): every project the mapping
  names gets the highest role the identity's claim values grant there, and loses the
  user's membership when they grant none; projects the mapping does not name keep the
  roles an admin gave. ``server-admin`` entries make the user a server admin, or stop it
  being one when none matches;
- issues an expiring API token (``WINDLASS_OIDC_TOKEN_SECONDS``), whose secret is returned
  once, and appends one audit record, ``login.oidc``.

A refused sign-in is recorded as ``login.fail`` (:meth:`OidcAccounts.failed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from windlass.access import credentials
from windlass.access.identity import Identity, check_user_name
from windlass.config import OIDC_SERVER_ADMIN, RoleGrant
from windlass.entities.access import ApiToken, User
from windlass.exceptions import AlreadyExists, InvalidInput, NotFound, Unauthenticated
from windlass.ids import new_id, now_ms
from windlass.principal import AuthMethod, Principal, Role

__all__ = [
    "LOGIN_FAIL",
    "LOGIN_OIDC",
    "OidcAccounts",
    "OidcIdentity",
    "SignIn",
    "granted_roles",
    "identity_from_claims",
]

#: The audit action of a successful OIDC sign-in (browser login or token exchange).
LOGIN_OIDC = "login.oidc"
#: The audit action of a refused sign-in.
LOGIN_FAIL = "login.fail"


@dataclass(frozen=True)
class OidcIdentity:
    """What a verified ID token proves: who issued it, whom for, the name and claim values."""

    issuer: str
    subject: str
    username: str
    #: The values of the role claim (``WINDLASS_OIDC_ROLE_CLAIM``) the token carries.
    claim_values: frozenset[str] = field(default_factory=frozenset)

    @property
    def link(self) -> str:
        """Return ``<issuer> <sub>``: what a user an OIDC sign-in created is linked to."""
        return f"{self.issuer} {self.subject}"


@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: the user, its new token and the token's secret (shown once)."""

    user: User
    token: ApiToken
    secret: str
    created: bool
    roles: dict[str, str]


def granted_roles(
    grants: list[RoleGrant], values: frozenset[str]
) -> tuple[dict[str, Role | None], bool | None]:
    """Return the roles ``values`` grant: per project named, and whether a server admin.

    Each project the mapping names maps to the highest role ``values`` grant there (None:
    none); the flag is None when the mapping has no ``server-admin`` entry.
    """
    projects: dict[str, Role | None] = {}
    admin: bool | None = None
    for grant in grants:
        matched = grant.value in values
        if grant.role == OIDC_SERVER_ADMIN:
            admin = bool(admin) or matched
            continue
        assert grant.project is not None  # the settings parser guarantees it
        current = projects.get(grant.project)
        if matched:
            role = Role(grant.role)
            projects[grant.project] = role if current is None else max(current, role)
        else:
            projects.setdefault(grant.project, None)
    return projects, admin


class OidcAccounts:
    """Sign-ins of OpenID Connect identities, over the identity service's store."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.store = identity.store

    def sign_in(
        self,
        who: OidcIdentity,
        grants: list[RoleGrant],
        *,
        token_seconds: int,
        via: str,
        address: str | None = None,
    ) -> SignIn:
        """Return the user ``who`` signs in as, with its roles applied and a new token.

        ``via`` names the flow in the token's name and the audit record (``browser``,
        ``exchange``). Raises Unauthenticated when the name belongs to someone else, the
        user is disabled, or the name is not a valid user name.
        """
        # The user, its roles, its token and the record commit together, or none of them.
        with self.store.transaction():
            user, created = self._user(who)
            if user.disabled:
                raise Unauthenticated(f"user {user.name!r} is disabled", reason="disabled")
            roles, admin_changed = self._apply_roles(user, grants, who.claim_values)
            if admin_changed:
                user = self.store.access.get_user(user.id)
            secret, digest, hint = credentials.new_token()
            at = now_ms()
            token = self.store.access.create_token(
                token_id=new_id(),
                user_id=user.id,
                name=f"oidc-{via}",
                digest=digest,
                hint=hint,
                created_at=at,
                expires_at=at + token_seconds * 1000,
                scope_project_id=None,
                scope_role=None,
            )
            if self.identity.audit is not None:
                self.identity.audit.record(
                    Principal(user.name, auth=AuthMethod.OIDC, user_id=user.id, address=address),
                    LOGIN_OIDC,
                    f"users:/{user.name}",
                    after={
                        "via": via,
                        "user": user.to_dict(),
                        "created": created,
                        "roles": roles,
                        "issued": token.to_dict(),  # its record: never the secret
                    },
                )
        self.identity.clear_cache()  # roles may have changed for the user's other tokens
        return SignIn(user, token, secret, created, roles)

    def failed(self, reason: str, address: str | None = None) -> None:
        """Record a refused sign-in (``login.fail``): why, never the token or the code."""
        if self.identity.audit is not None:
            self.identity.audit.record(
                Principal("anonymous", address=address),
                LOGIN_FAIL,
                "auth:/oidc",
                after={"method": "oidc", "reason": reason[:200]},
            )

    def _user(self, who: OidcIdentity) -> tuple[User, bool]:
        """Return the identity's user and whether it was created now."""
        try:
            user = self.store.access.get_user_by_name(who.username)
        except NotFound:
            pass
        else:
            if user.oidc_subject != who.link:
                raise Unauthenticated(
                    f"the user name {who.username!r} belongs to another windlass user (a local "
                    "user or another identity): an identity provider cannot sign in as it",
                    reason="name_taken",
                )
            return user, False
        try:
            check_user_name(who.username)
            user = self.store.access.create_user(
                user_id=new_id(),
                name=who.username,
                admin=False,
                password_hash=None,
                created_at=now_ms(),
                oidc_subject=who.link,
            )
            return user, True
        except InvalidInput as bad:
            raise Unauthenticated(bad.message, reason="bad_user_name") from None
        except AlreadyExists:
            raise Unauthenticated(
                f"this identity signed in before under another user name than "
                f"{who.username!r}; an admin must rename or remove that user",
                reason="subject_taken",
            ) from None

    def _apply_roles(
        self, user: User, grants: list[RoleGrant], values: frozenset[str]
    ) -> tuple[dict[str, str], bool]:
        """Set the roles the mapping grants; return what changed and whether admin changed.

        The first is project name -> role (``""`` when the membership was removed).
        """
        projects, admin = granted_roles(grants, values)
        applied: dict[str, str] = {}
        held = dict(self.store.access.user_roles(user.id))
        for name, role in projects.items():
            try:
                project = self.store.runs.get_project(name)
            except NotFound:
                continue  # the mapping may name projects not made yet
            if role is not None:
                if held.get(project.id) != role:
                    self.store.access.set_member(project.id, user.id, role)
                applied[name] = role.value
            elif project.id in held:
                self.store.access.remove_member(project.id, user.id)
                applied[name] = ""
        if admin is not None and admin != user.admin:
            self.store.access.update_user(user.id, admin=admin)
            return applied, True
        return applied, False


def identity_from_claims(
    claims: dict[str, object], *, username_claim: str, role_claim: str
) -> OidcIdentity:
    """Return the identity verified ID-token ``claims`` prove.

    The user name is the ``username_claim`` (a non-empty string), else ``sub``; the claim
    values are those of ``role_claim``: a string, or the strings of a list.
    """
    subject = str(claims["sub"])
    name = claims.get(username_claim)
    username = name.strip() if isinstance(name, str) and name.strip() else subject
    raw = claims.get(role_claim)
    if isinstance(raw, str):
        values = frozenset([raw])
    elif isinstance(raw, list):
        values = frozenset(v for v in raw if isinstance(v, str))
    else:
        values = frozenset()
    return OidcIdentity(str(claims["iss"]), subject, username, values)
