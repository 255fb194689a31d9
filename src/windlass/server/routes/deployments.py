"""``/api/v1/projects/{project}/deployments``: deployments, their changes and history.

``{project}`` is a project's name or id. Every handler parses, makes one call to the
deployments domain and renders its answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query

from windlass.entities import Project
from windlass.server.deployment_schemas import (
    DeploymentCreate,
    DeploymentPromote,
    DeploymentRollback,
    DeploymentUpdate,
)
from windlass.server.deps import PrincipalDep, deployments, project
from windlass.server.errors import ERROR_RESPONSES
from windlass.server.schemas import PageToken
from windlass.serving.deployments import KEEP, DeploymentService, ShadowArg
from windlass.store.deployments import MAX_DEPLOYMENT_RESULTS

router = APIRouter(
    prefix="/api/v1/projects/{project}/deployments", tags=["deployments"], responses=ERROR_RESPONSES
)
ServiceDep = Annotated[DeploymentService, Depends(deployments)]
ProjectDep = Annotated[Project, Depends(project)]
NamePath = Annotated[
    str, Path(pattern="^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}$", description="Deployment name")
]
RevisionPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Revision number")]
MaxResults = Annotated[int, Query(ge=1, le=MAX_DEPLOYMENT_RESULTS)]


@router.post("")
def create_deployment(
    body: DeploymentCreate, proj: ProjectDep, service: ServiceDep, who: PrincipalDep
) -> dict[str, Any]:
    """Create a deployment (409 if the name is taken; 404 if a model URI names nothing)."""
    return service.create(
        proj.id,
        body.name,
        [v.model_dump() for v in body.variants],
        shadow=None if body.shadow is None else body.shadow.model_dump(),
        description=body.description,
        principal=who,
        deployment_id=body.deployment_id,
    ).to_dict()


@router.get("")
def list_deployments(
    proj: ProjectDep,
    service: ServiceDep,
    max_results: MaxResults = 100,
    page_token: PageToken = None,
) -> dict[str, Any]:
    """List a project's deployments by name, one page at a time."""
    page = service.list(proj.id, max_results, page_token)
    return {
        "deployments": [d.to_dict() for d in page.items],
        "next_page_token": page.next_page_token,
    }


@router.get("/{name}")
def get_deployment(name: NamePath, proj: ProjectDep, service: ServiceDep) -> dict[str, Any]:
    """Return a deployment: variants, weights, shadow and revision."""
    return service.get(proj.id, name).to_dict()


@router.patch("/{name}")
def update_deployment(
    name: NamePath,
    body: DeploymentUpdate,
    proj: ProjectDep,
    service: ServiceDep,
    who: PrincipalDep,
) -> dict[str, Any]:
    """Replace variants, change weights and/or set or remove the shadow (a new revision)."""
    shadow: ShadowArg = KEEP
    if "shadow" in body.model_fields_set:
        shadow = None if body.shadow is None else body.shadow.model_dump()
    return service.update(
        proj.id,
        name,
        variants=None if body.variants is None else [v.model_dump() for v in body.variants],
        weights=body.weights,
        shadow=shadow,
        action=body.action,
        expected_revision=body.expected_revision,
        principal=who,
    ).to_dict()


@router.delete("/{name}")
def delete_deployment(name: NamePath, proj: ProjectDep, service: ServiceDep) -> dict[str, Any]:
    """Delete a deployment and its history."""
    service.delete(proj.id, name)
    return {}


@router.post("/{name}/promote")
def promote(
    name: NamePath,
    body: DeploymentPromote,
    proj: ProjectDep,
    service: ServiceDep,
    who: PrincipalDep,
) -> dict[str, Any]:
    """Send all traffic to one variant (weight 100, the others 0; the shadow: made a variant)."""
    return service.promote(
        proj.id,
        name,
        body.variant,
        expected_revision=body.expected_revision,
        principal=who,
    ).to_dict()


@router.post("/{name}/rollback")
def rollback(
    name: NamePath,
    proj: ProjectDep,
    service: ServiceDep,
    who: PrincipalDep,
    body: Annotated[DeploymentRollback | None, Body()] = None,
) -> dict[str, Any]:
    """Restore the previous revision's variants and shadow (or ``to_revision``'s) as new."""
    body = body or DeploymentRollback()
    return service.rollback(
        proj.id,
        name,
        to_revision=body.to_revision,
        expected_revision=body.expected_revision,
        principal=who,
    ).to_dict()


@router.get("/{name}/history")
def history(
    name: NamePath,
    proj: ProjectDep,
    service: ServiceDep,
    max_results: MaxResults = 100,
    page_token: PageToken = None,
    newest_first: bool = False,
) -> dict[str, Any]:
    """Return the recorded changes (revision, action, state, who, when), one page at a time."""
    page = service.history(proj.id, name, max_results, page_token, newest_first=newest_first)
    return {"events": [e.to_dict() for e in page.items], "next_page_token": page.next_page_token}


@router.get("/{name}/revisions/{revision}")
def get_revision(
    name: NamePath, revision: RevisionPath, proj: ProjectDep, service: ServiceDep
) -> dict[str, Any]:
    """Return the recorded change that made one revision."""
    return service.get_revision(proj.id, name, revision).to_dict()
