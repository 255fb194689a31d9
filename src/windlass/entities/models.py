"""Plain data objects of the model registry: registered models, versions, alias moves.

Shared by the store (which persists them), the models domain and the faces, so they live
in the core layer next to :mod:`windlass.entities`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from windlass.entities.registry import AliasMove, ObjectVersion, VersionedObject
from windlass.entities.runs import ArtifactEntry, DatasetInput, encode_float
from windlass.principal import AuthMethod

# The file at the root of every packaged model folder.
MANIFEST_FILE = "windlass-model.yaml"


@dataclass(frozen=True)
class _ModelNamed:
    """The field naming the object in an alias move; a base of the alias-move class below."""

    model_name: str


@dataclass(frozen=True)
class RegisteredModel(VersionedObject):
    """A named model in a project: description, tags, Markdown card, aliases, newest version."""

    card: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {**super().to_dict(), "card": self.card, "tags": dict(self.tags)}

    @classmethod
    def _fields_of(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            **super()._fields_of(data),
            "card": data.get("card", ""),
            "tags": dict(data.get("tags") or {}),
        }


@dataclass(frozen=True, kw_only=True)
class ModelVersion(ObjectVersion):
    """One immutable version of a registered model: its files (with digests) and manifest.

    ``files`` lists every file of the packaged model folder, the manifest included, with
    the BLAKE3 digest recorded at registration: loading verifies each file against it.
    ``manifest`` is the parsed ``windlass-model.yaml``. ``registered_auth`` is how the
    server established the identity of the principal it recorded in ``claimed_by``:
    ``local`` (auth off, so the name is only a claim) or an authenticated method, the only
    case in which ``registrant:NAME`` of ``WINDLASS_TRUSTED_MODEL_SOURCES`` matches it.
    """

    model_id: str
    source: str
    run_id: str | None
    files: list[ArtifactEntry]
    manifest: dict[str, Any]
    description: str = ""
    registered_auth: AuthMethod = AuthMethod.LOCAL

    @property
    def authenticated_registrant(self) -> str | None:
        """Return the registrant's name if the server authenticated it, else None."""
        return None if self.registered_auth is AuthMethod.LOCAL else self.claimed_by

    URI_SCHEME: ClassVar[str] = "models"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            **super().to_dict(),
            "model_id": self.model_id,
            "source": self.source,
            "run_id": self.run_id,
            "files": [f.to_dict() for f in self.files],
            "manifest": self.manifest,
            "description": self.description,
            "registered_auth": self.registered_auth.value,
        }

    @classmethod
    def _fields_of(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            **super()._fields_of(data),
            "model_id": data["model_id"],
            "source": data["source"],
            "run_id": data.get("run_id"),
            "files": [ArtifactEntry(f["path"], f["digest"], int(f["size"])) for f in data["files"]],
            "manifest": dict(data.get("manifest") or {}),
            "description": data.get("description", ""),
            "registered_auth": AuthMethod(data.get("registered_auth", AuthMethod.LOCAL)),
        }


@dataclass(frozen=True)
class AliasEvent(AliasMove, _ModelNamed):
    """One move of a model's alias (see :class:`~windlass.entities.registry.AliasMove`)."""


@dataclass(frozen=True)
class Lineage:
    """Where a model version came from: its run, the run's params and metrics, its data, code."""

    source: str
    run_id: str | None = None
    run_name: str | None = None
    project_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    inputs: list[DatasetInput] = field(default_factory=list)
    git_commit: str | None = None
    git_dirty: bool | None = None
    user: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "source": self.source,
            "run_id": self.run_id,
            "run_name": self.run_name,
            "project_id": self.project_id,
            "params": dict(self.params),
            "metrics": {k: encode_float(v) for k, v in self.metrics.items()},
            "inputs": [i.to_dict() for i in self.inputs],
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "user": self.user,
        }


@dataclass(frozen=True)
class ModelInfo:
    """What :func:`windlass.log_model` gives back: where the model went and its version."""

    uri: str
    run_id: str | None
    artifact_path: str
    flavors: list[str]
    signature: dict[str, Any] | None
    registered_model_name: str | None = None
    version: int | None = None

    @property
    def model_uri(self) -> str:
        """Return the registry URI when registered, else the run URI."""
        if self.registered_model_name and self.version is not None:
            return f"models:/{self.registered_model_name}/{self.version}"
        return self.uri
