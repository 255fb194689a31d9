"""Secrets: argon2 password hashes and API token secrets stored as SHA-256 digests.

A password is low-entropy, so it is stored as an argon2 hash (slow on purpose). A token is
``wl_`` followed by 32 random bytes (``secrets.token_urlsafe``): high-entropy, so a fast
SHA-256 digest is enough, and it lets the store find a token by one indexed lookup.
Neither the password nor the token secret is ever stored.
"""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from windlass.exceptions import InvalidInput

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "TOKEN_PREFIX",
    "hash_password",
    "looks_like_token",
    "new_token",
    "token_digest",
    "verify_password",
]

#: Every API token starts with this (so a leaked one is recognisable by secret scanners).
TOKEN_PREFIX = "wl_"  # noqa: S105 - a public prefix, not a secret
#: The shortest password accepted.
MIN_PASSWORD_LENGTH = 8
_MAX_PASSWORD_LENGTH = 1024
# token_urlsafe(32) gives 43 characters; anything far from that is not ours.
_MAX_TOKEN_LENGTH = 128
_HINT_LENGTH = 7

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Return a hash to verify against for an unknown user (a login takes as long either way)."""
    return _hasher.hash("windlass-no-such-user")


def hash_password(password: str) -> str:
    """Return the argon2 hash of ``password`` (InvalidInput if too short or too long)."""
    if not isinstance(password, str) or not (
        MIN_PASSWORD_LENGTH <= len(password) <= _MAX_PASSWORD_LENGTH
    ):
        raise InvalidInput(
            f"a password must have {MIN_PASSWORD_LENGTH} to {_MAX_PASSWORD_LENGTH} characters"
        )
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether ``password`` matches ``password_hash`` (None: no password set)."""
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str, str]:
    """Return a new token's ``(secret, digest, hint)``: show the secret once, store the digest.

    The hint is the secret's public start (``wl_`` and four characters).
    """
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return secret, token_digest(secret), secret[:_HINT_LENGTH]


def looks_like_token(secret: str) -> bool:
    """Whether ``secret`` has a token's shape (checked before any lookup)."""
    return (
        isinstance(secret, str)
        and secret.startswith(TOKEN_PREFIX)
        and len(secret) <= _MAX_TOKEN_LENGTH
        and secret.isascii()
    )


def token_digest(secret: str) -> str:
    """Return the SHA-256 hex digest a token is stored and looked up by."""
    return hashlib.sha256(secret.encode()).hexdigest()
