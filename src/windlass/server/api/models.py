"""``/api/v1/projects/{project}/models``: registered models, versions, aliases, lineage.

``{project}`` is a project's name or id. Every handler parses, makes one call to the
registry domain and renders its answer. The version, alias and alias-history routes are the
ones every versioned kind shares (:mod:`windlass.server.api.versioned`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from windlass.access.policy import Permission
from windlass.entities import ArtifactEntry, Project
from windlass.models.registry import ModelRegistry
from windlass.principal import AuthMethod
from windlass.server.api.artifacts import ArtifactEntryBody, FileEntry
from windlass.server.api.common import (
    NAME_PATTERN,
    Empty,
    Float,
    Id,
    Key,
    RequestBody,
    ResponseBody,
    errors,
    requires,
)
from windlass.server.api.runs import DatasetInputOut
from windlass.server.api.versioned import (
    ObjectBody,
    Operation,
    ServiceCall,
    VersionedKind,
    add_versioned_routes,
)
from windlass.server.deps import project, registry
from windlass.store.registry import MAX_REGISTRY_RESULTS

#: A model name or alias: the names of ``models:/<name>@<alias>`` URIs.
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
TagValue = Annotated[str, Field(max_length=8000)]


# -- request bodies ------------------------------------------------------------------------
class ModelCreate(ServiceCall):
    """Create a registered model (``exist_ok``: return an existing one instead of 409).

    The same ``model_id`` again returns the model it created (a retry is safe); with
    another name it is 409 ``ID_CONFLICT``.
    """

    name: Name
    description: str = Field(default="", max_length=100_000)
    tags: dict[Key, TagValue] = Field(default_factory=dict)
    exist_ok: bool = False
    model_id: Id | None = None


class ModelUpdate(RequestBody):
    """Change a model's description, Markdown card or tags (absent or null: unchanged)."""

    description: str | None = Field(default=None, max_length=100_000)
    # Sizes of the card and of lists are checked by the registry domain (clear messages).
    card: str | None = Field(default=None, description="Markdown, at most 1 MiB as UTF-8")
    set_tags: dict[Key, TagValue] | None = None
    delete_tags: list[Key] | None = None


class VersionCreate(ServiceCall):
    """Register the next version of a model.

    Every file's blob must already be uploaded (``PUT /api/v1/blobs/{digest}``), and the
    files must include ``windlass-model.yaml``. The same ``version_id`` again returns the
    version already registered.
    """

    source: str = Field(min_length=1, max_length=10_000)
    files: list[ArtifactEntryBody] = Field(min_length=1, description="At most 100,000")
    manifest: dict[str, Any]
    run_id: Id | None = None
    description: str = Field(default="", max_length=100_000)
    version_id: Id | None = None
    create_missing_model: bool = Field(
        default=True, description="Create the registered model if it does not exist yet"
    )

    def arguments(self) -> dict[str, Any]:
        """Return the body as :meth:`ModelRegistry.create_version`'s keyword arguments."""
        files = [ArtifactEntry(f.path, f.digest, f.size) for f in self.files]
        return {**super().arguments(), "files": files}


# -- response bodies -----------------------------------------------------------------------
class RegisteredModel(ObjectBody):
    """A registered model: description, card, tags, aliases and newest version number."""

    card: str
    tags: dict[str, str]
    aliases: dict[str, int] = Field(description="Alias name to version number")
    latest_version: int | None


class ModelVersion(ResponseBody):
    """One immutable version of a model: its files with digests, manifest and aliases."""

    id: str
    model_id: str
    project_id: str
    name: str
    version: int
    source: str
    run_id: str | None
    files: list[FileEntry]
    manifest: dict[str, Any]
    created_at: int
    claimed_by: str = Field(description="The principal the server recorded as registering it")
    registered_auth: AuthMethod = Field(
        description=(
            "How the server established that principal's identity: local (auth off, the "
            "name is only a claim) or token, password, oidc; registrant:NAME trust patterns "
            "match only an authenticated registrant"
        )
    )
    description: str
    aliases: list[str]


class VersionLineage(ResponseBody):
    """Where a version came from: run, params, metrics, datasets, code version, user."""

    source: str
    run_id: str | None
    run_name: str | None
    project_id: str | None
    params: dict[str, str]
    metrics: dict[str, Float]
    inputs: list[DatasetInputOut]
    git_commit: str | None
    git_dirty: bool | None
    user: str


# -- routes --------------------------------------------------------------------------------
router = APIRouter(prefix="/api/v1/projects/{project}/models", tags=["models"])
RegistryDep = Annotated[ModelRegistry, Depends(registry)]
ProjectDep = Annotated[Project, Depends(project)]
NamePath = Annotated[str, Path(pattern=NAME_PATTERN, description="Registered model name")]
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number")]
MaxResults = Annotated[int, Query(ge=1, le=MAX_REGISTRY_RESULTS)]


@router.patch(
    "/{name}",
    response_model=RegisteredModel,
    responses=errors(400, 404, 413, 422),
    **requires(Permission.WRITE),
)
def update_model(
    name: NamePath, body: ModelUpdate, proj: ProjectDep, models: RegistryDep
) -> dict[str, Any]:
    """Change a model's description, Markdown card or tags."""
    return models.update_model(
        proj.id,
        name,
        description=body.description,
        card=body.card,
        set_tags=body.set_tags,
        delete_tags=body.delete_tags,
    ).to_dict()


@router.delete(
    "/{name}/versions/{version}",
    response_model=Empty,
    responses=errors(400, 404, 409),
    **requires(Permission.ADMIN),
)
def delete_version(
    name: NamePath, version: VersionPath, proj: ProjectDep, models: RegistryDep
) -> dict[str, Any]:
    """Delete a version (409, naming them, while aliases or deployments use it)."""
    models.delete_version(proj.id, name, version)
    return {}


@router.get(
    "/{name}/versions/{version}/lineage",
    response_model=VersionLineage,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def lineage(
    name: NamePath, version: VersionPath, proj: ProjectDep, models: RegistryDep
) -> dict[str, Any]:
    """Return where a version came from: run, params, metrics, datasets, code version."""
    return models.lineage(proj.id, name, version).to_dict()


add_versioned_routes(
    router,
    VersionedKind(
        "model",
        registry,
        MAX_REGISTRY_RESULTS,
        create=Operation(ModelCreate, ModelRegistry.create_model, RegisteredModel),
        register=Operation(VersionCreate, ModelRegistry.create_version, ModelVersion),
    ),
)
