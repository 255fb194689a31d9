"""A pending move of a protected alias, waiting for a second admin (two-person review)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["REQUEST_STATES", "AliasRequest", "alias_request_from_dict", "is_alias_request"]

#: The states of a request: it waits, then is approved (the alias moved) or rejected.
REQUEST_STATES = ("pending", "approved", "rejected")


@dataclass(frozen=True)
class AliasRequest:
    """A request to point a protected alias of a model or prompt at a version."""

    id: str
    project_id: str
    #: The kind of object: ``model`` or ``prompt``.
    kind: str
    name: str
    alias: str
    version: int
    #: The recorded name of the admin who asked for the move.
    requested_by: str
    requested_at: int
    state: str = "pending"
    #: The admin who approved or rejected it (None while pending).
    decided_by: str | None = None
    decided_at: int | None = None
    #: The user id of the requester (None without auth): a second admin must differ.
    requested_by_id: str | None = None

    @property
    def object_uri(self) -> str:
        """Return the URI of the alias the request would move (``models:/churn@production``)."""
        return f"{self.kind}s:/{self.name}@{self.alias}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "project_id": self.project_id,
            "kind": self.kind,
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "object": self.object_uri,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at,
            "state": self.state,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
        }


def alias_request_from_dict(data: dict[str, Any]) -> AliasRequest:
    """Return the request of a REST answer (:meth:`AliasRequest.to_dict`'s shape)."""
    decided_at = data.get("decided_at")
    return AliasRequest(
        id=data["id"],
        project_id=data["project_id"],
        kind=data["kind"],
        name=data["name"],
        alias=data["alias"],
        version=int(data["version"]),
        requested_by=data["requested_by"],
        requested_at=int(data["requested_at"]),
        state=data.get("state", "pending"),
        decided_by=data.get("decided_by"),
        decided_at=None if decided_at is None else int(decided_at),
    )


def is_alias_request(data: Any) -> bool:
    """Return whether a REST answer is a pending alias request (a move held for review)."""
    return isinstance(data, dict) and data.get("state") == "pending" and "requested_by" in data
