"""The one parser of URIs: store URIs and object URIs (``runs:/``, ``models:/`` ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from windlass.exceptions import InvalidInput, InvalidUri


class StoreKind(StrEnum):
    """How the SDK reaches metadata: a SQL database directly, or a windlass server."""

    SQL = "sql"
    REST = "rest"


def store_kind(uri: str) -> StoreKind:
    """Classify a tracking/store URI, or raise :class:`InvalidUri` naming the problem."""
    scheme = urlsplit(uri).scheme.lower()
    if scheme in ("sqlite", "postgresql", "postgres") or scheme.startswith(
        ("sqlite+", "postgresql+")
    ):
        return StoreKind.SQL
    if scheme in ("http", "https"):
        return StoreKind.REST
    raise InvalidUri(
        f"unsupported tracking URI {uri!r}: use sqlite:///path, postgresql://... or http(s)://...",
        uri=uri,
    )


#: The names in object URIs: models, aliases, datasets, prompts, deployments.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
#: The longest name of a model, prompt, deployment or alias.
MAX_NAME_LENGTH = 256
#: The largest version number of a model or prompt.
MAX_VERSION = 2**31 - 1
#: The alias that always names the newest version (it cannot be set).
LATEST = "latest"
_NAME = re.compile(NAME_PATTERN)


def check_name(kind: str, value: Any) -> str:
    """Return a valid object name or alias, or raise InvalidInput naming the bad value."""
    if not isinstance(value, str) or len(value) > MAX_NAME_LENGTH \
            or not _NAME.fullmatch(value):
        shown = value[:80] if isinstance(value, str) else value
        raise InvalidInput(
            f"invalid {kind} {shown!r}: use 1-{MAX_NAME_LENGTH} letters, digits, '_', '-' "
            "or '.', starting with a letter or digit", **{kind.replace(" ", "_"): str(shown)})
    return value


def check_version(value: Any, what: str) -> int:
    """Return a valid version number of a ``what`` (model, prompt), or raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise InvalidInput(f"invalid {what} version {value!r}: a positive integer",
                           version=str(value))
    return value


def removable_alias(alias: str) -> str:
    """Return ``alias`` if an alias of that name may exist (not ``latest``)."""
    if check_name("alias", alias).lower() == LATEST:
        raise InvalidInput(f"the alias {alias!r} is reserved: {LATEST!r} always names the "
                           "newest version", alias=alias)
    return alias


def settable_alias(alias: str) -> str:
    """Return ``alias`` if an alias may be set to that name.

    Refused: ``latest`` (reserved) and all-digit names, which every place that takes "a
    version or an alias" (``diff 1 3``, ``--version``) would read as a version number.
    """
    if removable_alias(alias).isdigit():
        raise InvalidInput(f"the alias {alias!r} looks like a version number, so it could "
                           "never be named unambiguously: use a name with a letter "
                           f"(e.g. 'v{alias}')", alias=alias)
    return alias
_OBJECT = re.compile(
    r"^(?P<kind>runs|models|datasets|prompts|deployments):/(?P<rest>.+)$"
)
_VERSIONED = re.compile(
    rf"^(?P<name>{NAME_PATTERN})(?:/(?P<version>\d+)|@(?P<alias>{NAME_PATTERN}))?$")
_RUN = re.compile(r"^(?P<run_id>[0-9a-f]{32})(?:/(?P<path>.*))?$")


@dataclass(frozen=True)
class ObjectUri:
    """A parsed object URI: its kind and the parts that name the object."""

    kind: str
    name: str
    version: int | None = None
    alias: str | None = None
    path: str = ""

    def __str__(self) -> str:
        if self.kind == "runs":
            return f"runs:/{self.name}/{self.path}".rstrip("/")
        if self.version is not None:
            return f"{self.kind}:/{self.name}/{self.version}"
        if self.alias is not None:
            return f"{self.kind}:/{self.name}@{self.alias}"
        return f"{self.kind}:/{self.name}"


def parse_object_uri(uri: str) -> ObjectUri:
    """Parse ``runs:/<id>/<path>``, ``models:/<name>/<version>``, ``models:/<name>@<alias>``.

    The same forms hold for ``datasets:/``, ``prompts:/`` and ``deployments:/<name>``.
    """
    match = _OBJECT.match(uri)
    if not match:
        raise InvalidUri(
            f"{uri!r} is not an object URI (expected runs:/, models:/, datasets:/, "
            "prompts:/ or deployments:/)",
            uri=uri,
        )
    kind, rest = match["kind"], match["rest"]
    if kind == "runs":
        run = _RUN.match(rest)
        if not run:
            raise InvalidUri(f"{uri!r}: expected runs:/<32-hex run id>/<path>", uri=uri)
        return ObjectUri(kind, run["run_id"], path=(run["path"] or "").strip("/"))
    versioned = _VERSIONED.match(rest)
    if not versioned:
        raise InvalidUri(
            f"{uri!r}: expected {kind}:/<name>, {kind}:/<name>/<version> or {kind}:/<name>@<alias>",
            uri=uri,
        )
    if kind == "deployments" and (versioned["version"] or versioned["alias"]):
        raise InvalidUri(f"{uri!r}: a deployment URI is deployments:/<name>", uri=uri)
    version = int(versioned["version"]) if versioned["version"] else None
    return ObjectUri(kind, versioned["name"], version=version, alias=versioned["alias"])
