"""The artifact index interface: which files a run's artifacts hold (path, digest, size).

The bytes live in a blob store (:mod:`windlass.artifacts`); this index only names them.

The SQL store (:mod:`windlass.store.sql.artifacts`) and the REST client
(:mod:`windlass.store.rest.artifacts`) implement it alike; the contract suite
``tests/store/test_artifacts_contract.py`` holds both to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from windlass.entities import (
    ArtifactEntry,
    ArtifactListing,
)


class ArtifactIndex(ABC):
    """The index of a run's artifact files: paths, content digests and sizes."""

    @abstractmethod
    def record_artifacts(self, run_id: str, entries: list[ArtifactEntry]) -> None:
        """Record (or replace) files of a run's artifacts by path."""

    @abstractmethod
    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactListing]:
        """List the files and folders directly under ``path`` of a run's artifacts."""

    @abstractmethod
    def get_artifact(self, run_id: str, path: str) -> ArtifactEntry:
        """Return one artifact file's entry, or raise ArtifactNotFound."""

    @abstractmethod
    def walk_artifacts(self, run_id: str, path: str = "") -> list[ArtifactEntry]:
        """Return every file under ``path`` (recursively), ordered by path."""
