"""Plain data objects of the audit trail: one record per mutation, never changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuditRecord:
    """Who did what to which object, when, from where, with the state before and after.

    ``id`` is the writer's (a sortable id from :mod:`windlass.ids`), ``at`` UTC
    milliseconds. ``action`` is dotted (``run.create``, ``model.alias.set``,
    ``deployment.weights``); ``object_uri`` is a windlass URI (``runs:/<id>``,
    ``models:/churn/3``, ``prompts:/greet@prod``, ``deployments:/web``, ``projects:/p``,
    ``users:/ada``, ``tokens:/<id>``). ``before`` and ``after`` are JSON values (secrets
    already redacted by the audit trail), None when there is no such state.
    """

    id: str
    at: int
    principal: str
    principal_kind: str
    auth_method: str
    action: str
    object_uri: str
    address: str | None = None
    project_id: str | None = None
    before: Any = None
    after: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "at": self.at,
            "principal": self.principal,
            "principal_kind": self.principal_kind,
            "auth_method": self.auth_method,
            "address": self.address,
            "action": self.action,
            "object_uri": self.object_uri,
            "project_id": self.project_id,
            "before": self.before,
            "after": self.after,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditRecord:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            id=str(data["id"]),
            at=int(data["at"]),
            principal=str(data["principal"]),
            principal_kind=str(data["principal_kind"]),
            auth_method=str(data["auth_method"]),
            action=str(data["action"]),
            object_uri=str(data["object_uri"]),
            address=data.get("address"),
            project_id=data.get("project_id"),
            before=data.get("before"),
            after=data.get("after"),
        )
