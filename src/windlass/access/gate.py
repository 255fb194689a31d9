"""The one gate every domain service calls: may this principal act, and what did it do.

A domain service (``Tracking``, ``ModelRegistry``, ``DeploymentService``, ``TraceService``,
``PromptRegistry``) holds one :class:`Access`. Before an operation it calls
:meth:`Access.require` (the :class:`~windlass.access.policy.Policy`); after a mutation it
calls :meth:`Access.record`, which appends one audit record through the
:class:`AuditSink` (the append-only audit trail). Faces never check or record themselves.
"""

from __future__ import annotations

from typing import Any, Protocol

from windlass.access.policy import Permission, Policy
from windlass.exceptions import WindlassError
from windlass.principal import Principal

__all__ = ["Access", "AuditSink"]


class AuditSink(Protocol):
    """Where audit records go (the append-only audit trail)."""

    def record(
        self,
        principal: Principal,
        action: str,
        object_uri: str,
        *,
        project_id: str | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Append one record: who did ``action`` to ``object_uri``, with before and after."""


class Access:
    """The policy and the audit sink of one set of domain services."""

    def __init__(self, policy: Policy | None = None, audit: AuditSink | None = None) -> None:
        """``policy`` defaults to off (everything allowed); without ``audit`` nothing is kept."""
        self.policy = policy if policy is not None else Policy(enabled=False)
        self.audit = audit

    @property
    def enabled(self) -> bool:
        """Whether permissions are checked (auth on)."""
        return self.policy.enabled

    def require(
        self,
        principal: Principal,
        permission: Permission,
        project_id: str | None = None,
        *,
        hidden: WindlassError | None = None,
    ) -> None:
        """Raise Unauthenticated or PermissionDenied unless ``principal`` may act (see Policy)."""
        self.policy.require(principal, permission, project_id, hidden=hidden)

    def record(
        self,
        principal: Principal,
        action: str,
        object_uri: str,
        *,
        project_id: str | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Append one audit record of a mutation (nothing when no audit sink is set)."""
        if self.audit is not None:
            self.audit.record(
                principal, action, object_uri, project_id=project_id, before=before, after=after
            )
