"""The one parser of URIs: store URIs and object URIs (``runs:/``, ``models:/`` ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from windlass.exceptions import InvalidUri


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
