"""The one object through which route handlers reach the domain services of an app.

:func:`create_app <windlass.server.app.create_app>` builds one :class:`Services` per app
and keeps it as the app's only state; handlers get it (or one service of it) through the
dependencies of :mod:`windlass.server.deps`, never from ``app.state`` themselves. Services
that every request path needs are built with the container; the prompt registry is built on
first use, as before, so a server that never serves a prompt never builds it.

Every service shares one :class:`~windlass.access.gate.Access`: the app's policy (on with
auth) and its audit trail; the dependencies bind each to the request's principal
(``acting_as``), which costs a shallow copy, not a connection.
"""

from __future__ import annotations

import threading

from fastapi import FastAPI

from windlass.access.audit import AuditTrail
from windlass.access.gate import Access
from windlass.access.identity import Identity
from windlass.access.policy import Policy
from windlass.genai.prompts.registry import PromptRegistry
from windlass.genai.tracing.service import TraceService
from windlass.models.registry import ModelRegistry
from windlass.principal import server_principal
from windlass.server.metrics import TrackingServerMetrics
from windlass.server.ratelimit import FailureLimiter
from windlass.serving.deployments import DeploymentService
from windlass.tracking.service import Tracking
from windlass.versioning.governance import ProjectGovernance

__all__ = ["Services", "app_services"]


class Services:
    """The domain services of one app, over one tracking service's store and blobs."""

    def __init__(self, tracking: Tracking, *, auth: bool = False) -> None:
        # The app owns the tracking service it is given (it closes it). Routes pass each
        # request's principal; the fallback is the server's, never the OS login of its process.
        self.tracking = tracking
        self.metrics = TrackingServerMetrics()
        # Auth on: requests need a bearer token, which identity turns into their principal,
        # and one policy checks them (auth off: everything allowed).
        self.auth = auth
        policy = Policy(enabled=auth)
        # The append-only audit trail (GET /api/v1/audit), narrowed by the same policy.
        self.audit = AuditTrail(tracking.store, policy)
        self.identity = Identity(tracking.store, policy, audit=self.audit)
        #: The policy and audit trail every domain service of the app checks and records
        #: through. With auth off nothing is checked and the domain's mutations are not
        #: recorded: every caller is the same unauthenticated name, so a record would say
        #: nothing a trail is for, and the default server keeps its write path as it was.
        self.access = Access(policy, self.audit if auth else None)
        tracking.set_access(self.access, server_principal())
        self.registry = ModelRegistry(
            tracking.store, tracking.blobs, principal=server_principal(), access=self.access
        )
        self.deployments = DeploymentService(
            tracking.store, principal=server_principal(), access=self.access
        )
        self.traces = TraceService(tracking.store, principal=server_principal(), access=self.access)
        # Failed token checks per source address: past the limit, 429 with Retry-After.
        self.auth_failures = FailureLimiter()
        self._prompts: PromptRegistry | None = None
        self._governance: ProjectGovernance | None = None
        self._lock = threading.Lock()

    @property
    def prompts(self) -> PromptRegistry:
        """Return the prompt registry, built on first use."""
        with self._lock:
            if self._prompts is None:
                self._prompts = PromptRegistry(
                    self.tracking.store, principal=server_principal(), access=self.access
                )
            return self._prompts

    @property
    def governance(self) -> ProjectGovernance:
        """Return project settings and alias approvals (both registries), built on first use."""
        prompts = self.prompts
        with self._lock:
            if self._governance is None:
                self._governance = ProjectGovernance(
                    self.tracking.store,
                    {"model": self.registry, "prompt": prompts},
                    principal=server_principal(),
                    access=self.access,
                )
            return self._governance

    def close(self) -> None:
        """Release what the services hold (the store's connections)."""
        self.tracking.close()


def app_services(app: FastAPI) -> Services:
    """Return the services container of an app built by ``create_app``."""
    services: Services = app.state.services
    return services
