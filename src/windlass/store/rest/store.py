"""The REST metadata store: every area's REST store over one shared :class:`RestTransport`."""

from __future__ import annotations

import httpx

from windlass.store.metadata import MetadataStore
from windlass.store.rest.access import RestAccessStore
from windlass.store.rest.artifacts import RestArtifactIndex
from windlass.store.rest.audit import RestAuditStore
from windlass.store.rest.deployments import RestDeploymentStore
from windlass.store.rest.prompts import RestPromptStore
from windlass.store.rest.registry import RestRegistryStore
from windlass.store.rest.runs import RestRunStore
from windlass.store.rest.traces import RestTraceStore
from windlass.store.rest.transport import RestTransport


class RestStore(MetadataStore):
    """A :class:`MetadataStore` backed by a windlass server's REST API."""

    def __init__(
        self, base_url: str, client: httpx.Client | None = None, *, token: str | None = None
    ) -> None:
        self.transport = RestTransport(base_url, client, token=token)
        super().__init__(
            runs=RestRunStore(self.transport),
            artifacts=RestArtifactIndex(self.transport),
            registry=RestRegistryStore(self.transport),
            deployments=RestDeploymentStore(self.transport),
            traces=RestTraceStore(self.transport),
            prompts=RestPromptStore(self.transport),
            audit=RestAuditStore(self.transport),
            access=RestAccessStore(self.transport),
            close=self.transport.close,
        )

    @property
    def base_url(self) -> str:
        """The server's base URL (no trailing slash)."""
        return self.transport.base_url

    @property
    def client(self) -> httpx.Client:
        """The HTTP client (shared with the REST blob store of the same server)."""
        return self.transport.client
