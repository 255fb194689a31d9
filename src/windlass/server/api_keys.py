"""Static API keys from a file: the credentials of a serving-only ``windlass serve --auth token``.

The file holds one key per line (blank lines and ``#`` comments are skipped). It must not be
readable by other users of the machine (``chmod 600``): a world-readable key file is
refused. Keys are never kept as given: each is stored as a keyed digest of its
``Authorization`` header value (BLAKE2s in its keyed MAC mode, under a secret made fresh
for each process), so a check is one digest of the presented header (under a microsecond;
``hmac.digest`` with SHA-256 took three times as long) and one set lookup. The lookup
compares digests, and nobody outside the process can compute the digest of a guess, so its
timing reveals nothing about the keys (the property :func:`hmac.compare_digest` gives).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from windlass.exceptions import ConfigError

MAX_KEYS = 10_000
"""Most keys one file may hold."""

MIN_KEY_CHARS = 16
"""Shortest key accepted: a short key is guessable, rate limit or not."""

_SCHEMES = (b"Bearer ", b"bearer ")


def read_key_file(path: Path) -> list[str]:
    """Return the keys in ``path``, refusing a file other users can read, or a bad key."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"cannot read the API key file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"the API key file {path} is not a regular file")
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise ConfigError(
            f"the API key file {path} is readable or writable by every user of this machine "
            f"(mode {stat.filemode(mode)}); restrict it with `chmod 600 {path}`",
            path=str(path),
        )
    keys = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        key = line.strip()
        if not key or key.startswith("#"):
            continue
        if len(key) < MIN_KEY_CHARS or not key.isascii() or any(c.isspace() for c in key):
            # The message names the line, never the key.
            raise ConfigError(
                f"line {number} of the API key file {path} is not a usable key: keys are at "
                f"least {MIN_KEY_CHARS} printable ASCII characters without spaces"
            )
        keys.append(key)
    if not keys:
        raise ConfigError(f"the API key file {path} holds no key")
    if len(keys) > MAX_KEYS:
        raise ConfigError(f"the API key file {path} holds more than {MAX_KEYS} keys")
    return keys


class StaticApiKeys:
    """``authenticate(authorization_header) -> bool`` over a fixed set of API keys."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._secret = secrets.token_bytes(32)
        self._digests = frozenset(
            self._digest(scheme + key.encode("ascii")) for key in keys for scheme in _SCHEMES
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> StaticApiKeys:
        """Return the keys of a key file (see :func:`read_key_file`)."""
        return cls(read_key_file(Path(path)))

    def _digest(self, header: bytes) -> bytes:
        return hashlib.blake2s(header, key=self._secret).digest()

    def __call__(self, header: bytes | None) -> bool:
        """Return whether ``header`` (an ``Authorization`` value) is ``Bearer <a key>``."""
        if header is None:
            return False
        if self._digest(header) in self._digests:
            return True
        # Rare spellings ("BEARER  key"): normalise, then look up once more.
        scheme, _, key = header.strip().partition(b" ")
        if scheme.lower() != b"bearer" or not key.strip():
            return False
        return self._digest(b"Bearer " + key.strip()) in self._digests
