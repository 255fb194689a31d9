"""The metadata store: one object holding the store of each area.

Callers reach an area through its attribute (``store.runs.get_run(...)``,
``store.registry.objects.set_alias(...)``); each attribute is a small interface of its own
module (:mod:`windlass.store.runs`, :mod:`~windlass.store.artifacts`,
:mod:`~windlass.store.registry`, :mod:`~windlass.store.deployments`,
:mod:`~windlass.store.traces`, :mod:`~windlass.store.prompts`,
:mod:`~windlass.store.audit`, :mod:`~windlass.store.access`). A backend builds the areas
over its shared plumbing (an engine, an HTTP transport) and hands them to
:class:`MetadataStore`: composition, not inheritance, so an area never sees another's
methods. The SDK cannot tell embedded mode from server mode.

Validation of names and values lives above these interfaces, in the domain layer;
implementations store what they are given and raise the errors of
:mod:`windlass.exceptions` (never a driver's own exception).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager

from windlass.store.access import AccessStore
from windlass.store.artifacts import ArtifactIndex
from windlass.store.audit import AuditStore
from windlass.store.deployments import DeploymentStore
from windlass.store.governance import GovernanceStore
from windlass.store.prompts import PromptStore
from windlass.store.registry import RegistryStore
from windlass.store.runs import RunStore
from windlass.store.traces import TraceStore


class MetadataStore:
    """The stores of every area of one backend, and the one ``close()`` that releases them."""

    def __init__(
        self,
        *,
        runs: RunStore,
        artifacts: ArtifactIndex,
        registry: RegistryStore,
        deployments: DeploymentStore,
        traces: TraceStore,
        prompts: PromptStore,
        audit: AuditStore,
        access: AccessStore,
        governance: GovernanceStore | None = None,
        close: Callable[[], None] | None = None,
        transaction: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        self.runs = runs
        self.artifacts = artifacts
        self.registry = registry
        self.deployments = deployments
        self.traces = traces
        self.prompts = prompts
        self.audit = audit
        self.access = access
        #: Project settings and alias requests (None over REST: the server keeps them).
        self.governance = governance
        self._close = close
        self._transaction = transaction

    def transaction(self) -> AbstractContextManager[object]:
        """Return a context in which every write of every area commits together, or none.

        A domain service stores a mutation and its audit record in one of these, so a
        mutation is never kept without its record (and one commit costs less than two).
        Over REST it is no transaction at all: the server makes its own per request.
        """
        if self._transaction is None:
            return contextlib.nullcontext()
        return self._transaction()

    def close(self) -> None:
        """Release the backend's connections (its pool or HTTP client)."""
        if self._close is not None:
            self._close()
