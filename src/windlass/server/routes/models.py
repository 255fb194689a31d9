"""``/api/v1/projects/{project}/models``: registered models, versions, aliases, lineage.

``{project}`` is a project's name or id. Every handler parses, makes one call to the
registry domain and renders its answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from windlass.entities import ArtifactEntry, Project
from windlass.models.registry import ModelRegistry
from windlass.server.deps import project, registry
from windlass.server.errors import ERROR_RESPONSES
from windlass.server.model_schemas import AliasSet, ModelCreate, ModelUpdate, VersionCreate
from windlass.server.schemas import PageToken
from windlass.store.sql.registry import MAX_REGISTRY_RESULTS

router = APIRouter(
    prefix="/api/v1/projects/{project}/models", tags=["models"], responses=ERROR_RESPONSES
)
RegistryDep = Annotated[ModelRegistry, Depends(registry)]
ProjectDep = Annotated[Project, Depends(project)]
_NAME = "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}$"
NamePath = Annotated[str, Path(pattern=_NAME, description="Registered model name")]
AliasPath = Annotated[str, Path(pattern=_NAME, description="Alias (`latest`: the newest)")]
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number")]
MaxResults = Annotated[int, Query(ge=1, le=MAX_REGISTRY_RESULTS)]
ClaimQuery = Annotated[
    str | None,
    Query(
        max_length=256,
        description="Who the client says it is: recorded as a claim, never authenticated",
    ),
]


@router.post("")
def create_model(body: ModelCreate, proj: ProjectDep, models: RegistryDep) -> dict[str, Any]:
    """Create a registered model (409 if it exists, unless ``exist_ok``)."""
    return models.create_model(
        proj.id,
        body.name,
        description=body.description,
        tags=body.tags,
        exist_ok=body.exist_ok,
        model_id=body.model_id,
    ).to_dict()


@router.get("")
def list_models(
    proj: ProjectDep,
    models: RegistryDep,
    max_results: MaxResults = 100,
    page_token: PageToken = None,
) -> dict[str, Any]:
    """List a project's registered models by name, one page at a time."""
    page = models.list_models(proj.id, max_results, page_token)
    return {"models": [m.to_dict() for m in page.items], "next_page_token": page.next_page_token}


@router.get("/{name}")
def get_model(name: NamePath, proj: ProjectDep, models: RegistryDep) -> dict[str, Any]:
    """Return a registered model with its tags, aliases and newest version."""
    return models.get_model(proj.id, name).to_dict()


@router.patch("/{name}")
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


@router.delete("/{name}")
def delete_model(name: NamePath, proj: ProjectDep, models: RegistryDep) -> dict[str, Any]:
    """Delete a model with all its versions (409 while it has aliases or is deployed)."""
    models.delete_model(proj.id, name)
    return {}


@router.post("/{name}/versions")
def create_version(
    name: NamePath, body: VersionCreate, proj: ProjectDep, models: RegistryDep
) -> dict[str, Any]:
    """Register the model's next version (by default creating the model on first use)."""
    return models.create_version(
        proj.id,
        name,
        source=body.source,
        files=[ArtifactEntry(f.path, f.digest, f.size) for f in body.files],
        manifest=body.manifest,
        run_id=body.run_id,
        description=body.description,
        version_id=body.version_id,
        claimed_by=body.claimed_by or "",
        create_missing_model=body.create_missing_model,
    ).to_dict()


@router.get("/{name}/versions")
def list_versions(
    name: NamePath,
    proj: ProjectDep,
    models: RegistryDep,
    max_results: MaxResults = 100,
    page_token: PageToken = None,
) -> dict[str, Any]:
    """List a model's versions, newest first, one page at a time."""
    page = models.list_versions(proj.id, name, max_results, page_token)
    return {"versions": [v.to_dict() for v in page.items], "next_page_token": page.next_page_token}


@router.get("/{name}/versions/{version}")
def get_version(
    name: NamePath, version: VersionPath, proj: ProjectDep, models: RegistryDep
) -> dict[str, Any]:
    """Return one version with its files, manifest and aliases."""
    return models.get_version(proj.id, name, version).to_dict()


@router.delete("/{name}/versions/{version}")
def delete_version(
    name: NamePath, version: VersionPath, proj: ProjectDep, models: RegistryDep
) -> dict[str, Any]:
    """Delete a version (409, naming them, while aliases or deployments use it)."""
    models.delete_version(proj.id, name, version)
    return {}


@router.get("/{name}/versions/{version}/lineage")
def lineage(
    name: NamePath, version: VersionPath, proj: ProjectDep, models: RegistryDep
) -> dict[str, Any]:
    """Return where a version came from: run, params, metrics, datasets, code version."""
    return models.lineage(proj.id, name, version).to_dict()


@router.get("/{name}/aliases/{alias}")
def get_alias(
    name: NamePath, alias: AliasPath, proj: ProjectDep, models: RegistryDep
) -> dict[str, Any]:
    """Return the version an alias points to."""
    return models.get_version_by_alias(proj.id, name, alias).to_dict()


@router.put("/{name}/aliases/{alias}")
def set_alias(
    name: NamePath, alias: AliasPath, body: AliasSet, proj: ProjectDep, models: RegistryDep
) -> dict[str, Any]:
    """Point an alias at a version; return the recorded move."""
    return models.set_alias(
        proj.id, name, alias, body.version, claimed_by=body.claimed_by or ""
    ).to_dict()


@router.delete("/{name}/aliases/{alias}")
def delete_alias(
    name: NamePath,
    alias: AliasPath,
    proj: ProjectDep,
    models: RegistryDep,
    claimed_by: ClaimQuery = None,
) -> dict[str, Any]:
    """Remove an alias; return the recorded removal."""
    return models.delete_alias(proj.id, name, alias, claimed_by=claimed_by or "").to_dict()


@router.get("/{name}/alias-history")
def alias_history(
    name: NamePath,
    proj: ProjectDep,
    models: RegistryDep,
    alias: Annotated[str | None, Query(pattern=_NAME)] = None,
) -> dict[str, Any]:
    """Return every recorded alias move of the model (or of one alias), oldest first."""
    return {"events": [e.to_dict() for e in models.alias_history(proj.id, name, alias)]}
