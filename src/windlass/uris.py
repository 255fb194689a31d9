"""The one parser of URIs: store URIs and object URIs (``runs:/``, ``models:/`` ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
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


def sqlite_path(uri: str) -> str | None:
    """Return the database file of a ``sqlite:///<path>`` URI (None: in memory, or not SQLite).

    ``sqlite:///runs.db`` is relative to the working folder, ``sqlite:////abs/runs.db``
    absolute, as SQLAlchemy reads them.
    """
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower().split("+")[0] != "sqlite" or not rest.startswith("/"):
        return None
    path = rest[1:].split("?", 1)[0]
    return None if path in ("", ":memory:") else path


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
    if not isinstance(value, str) or len(value) > MAX_NAME_LENGTH or not _NAME.fullmatch(value):
        shown = value[:80] if isinstance(value, str) else value
        raise InvalidInput(
            f"invalid {kind} {shown!r}: use 1-{MAX_NAME_LENGTH} letters, digits, '_', '-' "
            "or '.', starting with a letter or digit",
            **{kind.replace(" ", "_"): str(shown)},
        )
    return value


def check_version(value: Any, what: str) -> int:
    """Return a valid version number of a ``what`` (model, prompt), or raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise InvalidInput(
            f"invalid {what} version {value!r}: a positive integer", version=str(value)
        )
    return value


def removable_alias(alias: str) -> str:
    """Return ``alias`` if an alias of that name may exist (not ``latest``)."""
    if check_name("alias", alias).lower() == LATEST:
        raise InvalidInput(
            f"the alias {alias!r} is reserved: {LATEST!r} always names the newest version",
            alias=alias,
        )
    return alias


def settable_alias(alias: str) -> str:
    """Return ``alias`` if an alias may be set to that name.

    Refused: ``latest`` (reserved) and all-digit names, which every place that takes "a
    version or an alias" (``diff 1 3``, ``--version``) would read as a version number.
    """
    if removable_alias(alias).isdigit():
        raise InvalidInput(
            f"the alias {alias!r} looks like a version number, so it could "
            "never be named unambiguously: use a name with a letter "
            f"(e.g. 'v{alias}')",
            alias=alias,
        )
    return alias


#: An object URI names its project with an authority: ``models://<project>/churn@champion``.
#: Without one (``models:/churn@champion``) it means the current project.
_OBJECT = re.compile(
    r"^(?P<kind>runs|models|datasets|prompts|deployments):"
    rf"(?://(?P<project>{NAME_PATTERN})/|/(?!/))(?P<rest>.+)$"
)
_VERSIONED = re.compile(
    rf"^(?P<name>{NAME_PATTERN})(?:/(?P<version>\d+)|@(?P<alias>{NAME_PATTERN}))?$"
)
_RUN = re.compile(r"^(?P<run_id>[0-9a-f]{32})(?:/(?P<path>.*))?$")
#: The URI forms, as error messages show them.
OBJECT_URI_FORMS = (
    "runs:/<run id>/<path>, models:/<name>/<version>, models:/<name>@<alias>, "
    "prompts:/..., datasets:/..., deployments:/<name>; "
    "models://<project>/<name>@<alias> (any kind) names the project"
)


@dataclass(frozen=True)
class ObjectUri:
    """A parsed object URI: its kind, the parts that name the object, and its project.

    ``project`` is the project named in the URI (``models://<project>/...``), or ``None``
    when the URI means the current project.
    """

    kind: str
    name: str
    version: int | None = None
    alias: str | None = None
    path: str = ""
    project: str | None = None

    def __str__(self) -> str:
        start = f"{self.kind}://{self.project}/" if self.project else f"{self.kind}:/"
        if self.kind == "runs":
            return f"{start}{self.name}/{self.path}".rstrip("/")
        if self.version is not None:
            return f"{start}{self.name}/{self.version}"
        if self.alias is not None:
            return f"{start}{self.name}@{self.alias}"
        return f"{start}{self.name}"

    def in_project(self, project: str | None) -> ObjectUri:
        """Return this URI naming ``project`` (``None``: unchanged); see :func:`pick_project`."""
        chosen = pick_project(self.project, project, str(self))
        return self if chosen == self.project else replace(self, project=chosen)


def pick_project(from_uri: str | None, given: str | None, uri: str) -> str | None:
    """Return the project a URI names, else the one ``given`` (``--project``), else ``None``.

    Both may be given only when they agree: a URI naming one project and an option naming
    another is an :class:`InvalidUri`, never a silent choice.
    """
    if from_uri is not None and given is not None and from_uri != given:
        raise InvalidUri(
            f"{uri!r} names project {from_uri!r} but project {given!r} was "
            "given too: drop one of them",
            uri=uri,
            project=given,
        )
    return from_uri if from_uri is not None else given


def with_project(uri: str, project: str | None) -> str:
    """Return the object URI ``uri`` naming ``project`` (unchanged if ``project`` is None).

    Anything else than an object URI (a model folder) is returned unchanged.
    """
    if project is None or not _OBJECT.match(uri):
        return uri
    return str(parse_object_uri(uri).in_project(project))


def parse_object_uri(uri: str) -> ObjectUri:
    """Parse ``runs:/<id>/<path>``, ``models:/<name>/<version>``, ``models:/<name>@<alias>``.

    The same forms hold for ``datasets:/``, ``prompts:/`` and ``deployments:/<name>``.
    Each kind may name its project with an authority, ``models://<project>/<name>@<alias>``
    (``//`` cannot start today's forms: names start with a letter or digit).
    """
    match = _OBJECT.match(uri)
    if not match:
        raise InvalidUri(f"{uri!r} is not an object URI (expected {OBJECT_URI_FORMS})", uri=uri)
    kind, rest, project = match["kind"], match["rest"], match["project"]
    if project is not None and len(project) > MAX_NAME_LENGTH:
        raise InvalidUri(
            f"{uri[:80]!r}: a project name has at most {MAX_NAME_LENGTH} characters", uri=uri[:300]
        )
    start = f"{kind}://<project>/" if project else f"{kind}:/"
    if kind == "runs":
        run = _RUN.match(rest)
        if not run:
            raise InvalidUri(f"{uri!r}: expected {start}<32-hex run id>/<path>", uri=uri)
        return ObjectUri(kind, run["run_id"], path=(run["path"] or "").strip("/"), project=project)
    versioned = _VERSIONED.match(rest)
    if not versioned:
        raise InvalidUri(
            f"{uri!r}: expected {start}<name>, {start}<name>/<version> or {start}<name>@<alias>",
            uri=uri,
        )
    if kind == "deployments" and (versioned["version"] or versioned["alias"]):
        raise InvalidUri(f"{uri!r}: a deployment URI is {start}<name>", uri=uri)
    version = int(versioned["version"]) if versioned["version"] else None
    return ObjectUri(
        kind, versioned["name"], version=version, alias=versioned["alias"], project=project
    )
