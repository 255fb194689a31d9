"""The REST client's artifact index: the files a run's artifacts hold, as the server lists them."""

from __future__ import annotations

from windlass.entities import ArtifactEntry, ArtifactListing
from windlass.store.artifacts import ArtifactIndex
from windlass.store.rest.transport import RestTransport


class RestArtifactIndex(ArtifactIndex):
    """A run's artifact files over the REST API (the bytes go through the blob store)."""

    def __init__(self, http: RestTransport) -> None:
        self._http = http

    def record_artifacts(self, run_id: str, entries: list[ArtifactEntry]) -> None:
        """Record uploaded files of a run."""
        if entries:
            self._http.request(
                "POST",
                f"/api/v1/runs/{run_id}/artifacts",
                json={"entries": [e.to_dict() for e in entries]},
            )

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactListing]:
        """List one folder level of a run's artifacts."""
        body = self._http.request("GET", f"/api/v1/runs/{run_id}/artifacts", params={"path": path})
        return [
            ArtifactListing(f["path"], f["is_dir"], f.get("size"), f.get("digest"))
            for f in body["files"]
        ]

    def walk_artifacts(self, run_id: str, path: str = "") -> list[ArtifactEntry]:
        """Return every file under ``path``."""
        body = self._http.request(
            "GET", f"/api/v1/runs/{run_id}/artifacts/walk", params={"path": path}
        )
        return [ArtifactEntry(e["path"], e["digest"], int(e["size"])) for e in body["entries"]]

    def get_artifact(self, run_id: str, path: str) -> ArtifactEntry:
        """Return one file's entry."""
        e = self._http.request(
            "GET", f"/api/v1/runs/{run_id}/artifacts/entry", params={"path": path}
        )
        return ArtifactEntry(e["path"], e["digest"], int(e["size"]))
