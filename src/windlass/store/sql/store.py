"""The SQL metadata store: every area's SQL store over one shared :class:`Database`."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from windlass.store.metadata import MetadataStore
from windlass.store.sql.access import SqlAccessStore
from windlass.store.sql.artifacts import SqlArtifactIndex
from windlass.store.sql.audit import SqlAuditStore
from windlass.store.sql.database import Database
from windlass.store.sql.deployments import SqlDeploymentStore
from windlass.store.sql.governance import SqlGovernanceStore
from windlass.store.sql.prompts import SqlPromptStore
from windlass.store.sql.registry import SqlRegistryStore
from windlass.store.sql.runs import SqlRunStore
from windlass.store.sql.traces import SqlTraceStore


class SqlStore(MetadataStore):
    """A :class:`MetadataStore` over SQLite (WAL) or PostgreSQL (psycopg 3), chosen by URI."""

    def __init__(self, uri: str) -> None:
        self.db = Database(uri)
        super().__init__(
            runs=SqlRunStore(self.db),
            artifacts=SqlArtifactIndex(self.db),
            registry=SqlRegistryStore(self.db),
            deployments=SqlDeploymentStore(self.db),
            traces=SqlTraceStore(self.db),
            prompts=SqlPromptStore(self.db),
            audit=SqlAuditStore(self.db),
            access=SqlAccessStore(self.db),
            governance=SqlGovernanceStore(self.db),
            close=self.db.close,
            transaction=self.db.unit,
        )

    @property
    def uri(self) -> str:
        """The store URI this store was opened with."""
        return self.db.uri

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests that watch the queries)."""
        return self.db.engine
