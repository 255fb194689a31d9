"""``/api/v1/tokens``: the caller's API tokens (server admins: everyone's)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import Field

from windlass.access.identity import MAX_EXPIRES_SECONDS, Identity
from windlass.access.policy import Permission
from windlass.server.api.common import Id, RequestBody, ResponseBody, errors, requires
from windlass.server.deps import PrincipalDep, identity

router = APIRouter(prefix="/api/v1/tokens", tags=["identity"])
IdentityDep = Annotated[Identity, Depends(identity)]


class TokenCreate(RequestBody):
    """A new token: its name, lifetime, optional project scope, and owner (admins only)."""

    name: Annotated[str, Field(min_length=1, max_length=256)] = "token"
    expires_in_seconds: Annotated[int, Field(ge=1, le=MAX_EXPIRES_SECONDS)] | None = None
    project: Annotated[str, Field(max_length=256)] | None = None
    role: Literal["viewer", "editor", "admin"] | None = None
    user: Annotated[str, Field(max_length=256)] | None = None


class TokenOut(ResponseBody):
    """A token's record (never its secret)."""

    id: str
    user_id: str
    user_name: str
    name: str
    hint: str
    created_at: int
    expires_at: int | None = None
    scope_project_id: str | None = None
    scope_role: str | None = None
    revoked_at: int | None = None


class TokenCreated(ResponseBody):
    """A new token and its secret: shown this once, stored only as a digest."""

    token: TokenOut
    secret: str


class TokenList(ResponseBody):
    """Tokens, oldest first."""

    tokens: list[TokenOut]


@router.get(
    "", response_model=TokenList, responses=errors(401, 429), **requires(Permission.AUTHENTICATED)
)
def list_tokens(principal: PrincipalDep, service: IdentityDep) -> dict[str, Any]:
    """List the caller's tokens (a server admin's: every token)."""
    return {"tokens": [t.to_dict() for t in service.list_tokens(principal)]}


@router.post(
    "",
    response_model=TokenCreated,
    responses=errors(400, 401, 403, 404, 413, 422, 429),
    **requires(Permission.AUTHENTICATED),
)
def create_token(
    body: TokenCreate, principal: PrincipalDep, service: IdentityDep
) -> dict[str, Any]:
    """Make a token; its secret is in this answer only."""
    token, secret = service.create_token(
        principal,
        name=body.name,
        expires_in_seconds=body.expires_in_seconds,
        project=body.project,
        role=body.role,
        user=body.user,
    )
    return {"token": token.to_dict(), "secret": secret}


@router.delete(
    "/{token_id}",
    response_model=TokenOut,
    responses=errors(400, 401, 404, 429),
    **requires(Permission.AUTHENTICATED),
)
def revoke_token(token_id: Id, principal: PrincipalDep, service: IdentityDep) -> dict[str, Any]:
    """Revoke a token (the caller's own; a server admin's: any). It stops working at once."""
    return service.revoke_token(principal, token_id).to_dict()
