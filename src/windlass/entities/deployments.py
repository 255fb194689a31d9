"""Plain data objects of deployments: variants sharing traffic, revisions, their history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Variant:
    """One arm of a deployment: a model URI and its share of traffic (a non-negative weight).

    The weight is always a given weight (0: no traffic); variants that should share traffic
    equally are given to the deployments domain as mappings without ``weight``.
    """

    name: str
    model_uri: str
    weight: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"name": self.name, "model_uri": self.model_uri, "weight": self.weight}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Variant:
        """Rebuild from :meth:`to_dict` output."""
        return cls(str(data["name"]), str(data["model_uri"]), float(data.get("weight", 0.0)))


@dataclass(frozen=True)
class Deployment:
    """A named deployment: variants sharing traffic by weight, and an optional shadow.

    The shadow gets a copy of traffic; its answers are logged, never returned. ``revision``
    grows by one with every change, so a running server can tell that it must reload.
    """

    id: str
    project_id: str
    name: str
    variants: list[Variant]
    revision: int
    created_at: int
    updated_at: int
    shadow: Variant | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "project_id": self.project_id,
            "name": self.name,
            "variants": [v.to_dict() for v in self.variants],
            "revision": self.revision,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "shadow": None if self.shadow is None else self.shadow.to_dict(),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        """Rebuild from :meth:`to_dict` output."""
        shadow = data.get("shadow")
        return cls(
            id=data["id"],
            project_id=data["project_id"],
            name=data["name"],
            variants=[Variant.from_dict(v) for v in data["variants"]],
            revision=int(data["revision"]),
            created_at=int(data["created_at"]),
            updated_at=int(data["updated_at"]),
            shadow=None if shadow is None else Variant.from_dict(shadow),
            description=data.get("description", ""),
        )


@dataclass(frozen=True)
class DeploymentEvent:
    """One recorded change of a deployment: the revision it made, what, when, who claimed it.

    ``variants`` and ``shadow`` are the deployment's state after the change, so a rollback
    can restore any earlier revision. ``claimed_by`` is the name the client gave,
    unauthenticated.
    """

    deployment_name: str
    revision: int
    action: str
    variants: list[Variant]
    shadow: Variant | None
    claimed_by: str
    at: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "deployment_name": self.deployment_name,
            "revision": self.revision,
            "action": self.action,
            "variants": [v.to_dict() for v in self.variants],
            "shadow": None if self.shadow is None else self.shadow.to_dict(),
            "claimed_by": self.claimed_by,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeploymentEvent:
        """Rebuild from :meth:`to_dict` output."""
        shadow = data.get("shadow")
        return cls(
            data["deployment_name"],
            int(data["revision"]),
            data["action"],
            [Variant.from_dict(v) for v in data["variants"]],
            None if shadow is None else Variant.from_dict(shadow),
            data.get("claimed_by", ""),
            int(data["at"]),
        )
