"""The shape every versioned object shares: a named object, its versions, its alias moves.

Models and prompts (and next datasets and evaluation suites) are "a named object with
immutable numbered versions, aliases whose every move is recorded, tags and a
description". The fields and JSON they share are written here once; each kind adds only
what is its own (a model's card and tags, a prompt version's template, the key naming the
object in an alias move).

An alias move's name key is the kind's own (``model_name``, ``prompt_name``) and comes
first, as it always has: a kind declares it in a one-field dataclass listed after
:class:`AliasMove` among its bases, so dataclass field order (bases last to first) puts it
ahead of the shared fields, and positional construction keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self


class _Record:
    """A data object rebuilt from its :meth:`to_dict` output by :meth:`from_dict`.

    ``_fields_of`` reads the constructor's keyword arguments from that output; a kind
    extends its base's with its own.
    """

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**cls._fields_of(data))

    @classmethod
    def _fields_of(cls, data: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


def _identity(data: dict[str, Any]) -> dict[str, Any]:
    """Return the id, project, name and creation time of a versioned record's JSON."""
    return {
        "id": data["id"],
        "project_id": data["project_id"],
        "name": data["name"],
        "created_at": int(data["created_at"]),
    }


@dataclass(frozen=True)
class VersionedObject(_Record):
    """A named object of a project with numbered versions: description, aliases, newest version.

    ``aliases`` maps each alias to the version it names; ``latest_version`` is None until
    the first version is registered.
    """

    id: str
    project_id: str
    name: str
    created_at: int
    updated_at: int
    description: str = ""
    aliases: dict[str, int] = field(default_factory=dict)
    latest_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "project_id": self.project_id,
            "name": self.name,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "description": self.description,
            "aliases": dict(self.aliases),
            "latest_version": self.latest_version,
        }

    @classmethod
    def _fields_of(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            **_identity(data),
            "updated_at": int(data["updated_at"]),
            "description": data.get("description", ""),
            "aliases": {k: int(v) for k, v in (data.get("aliases") or {}).items()},
            "latest_version": data.get("latest_version"),
        }


@dataclass(frozen=True)
class ObjectVersion(_Record):
    """One immutable numbered version of a versioned object; a kind adds what it holds.

    ``claimed_by`` is who the registering client said it was: recorded as a claim, never
    authenticated, so nothing may base a trust decision on it. ``aliases`` are the aliases
    naming this version. A kind's fields are keyword-only (they follow these defaults).
    """

    id: str
    project_id: str
    name: str
    version: int
    created_at: int
    claimed_by: str = ""
    aliases: list[str] = field(default_factory=list)

    #: The URI scheme naming versions of this kind, e.g. ``models``.
    URI_SCHEME: ClassVar[str]

    @property
    def uri(self) -> str:
        """Return ``<scheme>:/<name>/<version>``, e.g. ``models:/churn/3``."""
        return f"{self.URI_SCHEME}:/{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (a kind adds its own keys)."""
        return {
            "id": self.id,
            "project_id": self.project_id,
            "name": self.name,
            "version": self.version,
            "created_at": self.created_at,
            "claimed_by": self.claimed_by,
            "aliases": list(self.aliases),
        }

    @classmethod
    def _fields_of(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            **_identity(data),
            "version": int(data["version"]),
            "claimed_by": data.get("claimed_by", ""),
            "aliases": list(data.get("aliases") or []),
        }


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: when, from which version to which, and who the client claimed.

    ``from_version`` is None when the alias was created, ``to_version`` None when removed.
    ``claimed_by`` is the name the client gave, unauthenticated (never a trust decision).
    A kind names its object in a field of its own, listed first (:meth:`name_key`).
    """

    alias: str
    from_version: int | None
    to_version: int | None
    claimed_by: str
    at: int

    @classmethod
    def name_key(cls) -> str:
        """Return the field (and JSON key) naming the object, e.g. ``model_name``."""
        return fields(cls)[0].name

    @property
    def object_name(self) -> str:
        """Return the name of the object whose alias moved, whatever the kind calls it."""
        name: str = getattr(self, self.name_key())
        return name

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the kind's name key first)."""
        return {
            self.name_key(): self.object_name,
            "alias": self.alias,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "claimed_by": self.claimed_by,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            **{cls.name_key(): data[cls.name_key()]},
            alias=data["alias"],
            from_version=data.get("from_version"),
            to_version=data.get("to_version"),
            claimed_by=data.get("claimed_by", ""),
            at=int(data["at"]),
        )
