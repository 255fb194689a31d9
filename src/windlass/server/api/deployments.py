"""``/api/v1/projects/{project}/deployments``: deployments, their changes and history.

``{project}`` is a project's name or id. Every handler parses, makes one call to the
deployments domain and renders its answer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import Field

from windlass.access.policy import Permission
from windlass.entities import Project
from windlass.server.api.common import (
    NAME_PATTERN,
    Empty,
    Id,
    PageToken,
    RequestBody,
    ResponseBody,
    errors,
    requires,
)
from windlass.server.deps import deployments, project
from windlass.serving.deployments import KEEP, DeploymentService, ShadowArg
from windlass.serving.traffic import MAX_BUCKETS
from windlass.store.deployments import MAX_DEPLOYMENT_RESULTS

#: The longest traffic window a chart may ask for (31 days).
MAX_TRAFFIC_MINUTES = 31 * 24 * 60

# -- request bodies ------------------------------------------------------------------------
# Bodies are strict and bounded: unknown fields, wrong types, NaN or infinite weights and
# oversized lists are refused with 400 before the deployments domain sees them; the domain
# checks the rest (model URIs that must resolve, unique names, a positive weight sum).

#: A deployment or variant name (the names of ``deployments:/<name>`` URIs).
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
#: A relative traffic weight: finite and non-negative.
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
ModelUri = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        pattern="^(models|runs):/",
        description="models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH",
    ),
]
Revision = Annotated[int, Field(ge=1, le=2**31 - 1)]
MAX_VARIANTS = 100


class VariantBody(RequestBody):
    """One variant: a model URI and its relative share of traffic.

    Variants given without any weight share traffic equally; weights that are given are
    kept as they are (all 0 is refused: no variant would answer).
    """

    name: Name
    model_uri: ModelUri
    weight: Weight | None = None


class DeploymentCreate(RequestBody):
    """Create a deployment (revision 1).

    Variants given without any weight share traffic equally. The shadow gets a copy of
    every request; its weight is ignored. The same ``deployment_id`` again returns the
    deployment it created (a retry is safe).
    """

    name: Name
    variants: list[VariantBody] = Field(min_length=1, max_length=MAX_VARIANTS)
    shadow: VariantBody | None = None
    description: str = Field(default="", max_length=100_000)
    deployment_id: Id | None = None


class DeploymentUpdate(RequestBody):
    """Change a deployment as its next revision.

    ``variants`` replaces all variants; ``weights`` changes the named variants' weights
    (the others keep theirs); give one of them, not both. ``shadow``: a variant sets it,
    ``null`` removes it, absent leaves it. With ``expected_revision``, the change is made
    only if the deployment is still at that revision (409 otherwise).
    """

    variants: list[VariantBody] | None = Field(default=None, min_length=1, max_length=MAX_VARIANTS)
    weights: dict[Name, Weight] | None = Field(default=None, min_length=1, max_length=MAX_VARIANTS)
    shadow: VariantBody | None = None
    action: (
        Literal["update", "set_variants", "set_weights", "set_shadow", "promote", "rollback"] | None
    ) = Field(default=None, description="What the history records (default: from the change)")
    expected_revision: Revision | None = None


class DeploymentPromote(RequestBody):
    """Send all traffic to one variant (or make the shadow that variant)."""

    variant: Name
    expected_revision: Revision | None = None


class DeploymentRollback(RequestBody):
    """Restore the previous revision's variants and shadow (or ``to_revision``'s)."""

    to_revision: Revision | None = None
    expected_revision: Revision | None = None


# -- response bodies -----------------------------------------------------------------------
class VariantOut(ResponseBody):
    """One variant: a model URI and its relative share of traffic."""

    name: str
    model_uri: str
    weight: float


class DeploymentOut(ResponseBody):
    """A deployment: its variants, weights, shadow and revision."""

    id: str
    project_id: str
    name: str
    variants: list[VariantOut]
    revision: int
    created_at: int
    updated_at: int
    shadow: VariantOut | None
    description: str


class DeploymentPage(ResponseBody):
    """One page of a project's deployments, by name."""

    deployments: list[DeploymentOut]
    next_page_token: str | None = None


class DeploymentEvent(ResponseBody):
    """One recorded change: the revision it made, the action, the state after, who, when."""

    deployment_name: str
    revision: int
    action: str
    variants: list[VariantOut]
    shadow: VariantOut | None
    claimed_by: str
    at: int


class DeploymentHistory(ResponseBody):
    """One page of a deployment's recorded changes."""

    events: list[DeploymentEvent]
    next_page_token: str | None = None


# -- routes --------------------------------------------------------------------------------
router = APIRouter(prefix="/api/v1/projects/{project}/deployments", tags=["deployments"])
#: What a change with a body can answer besides 200.
WRITE_ERRORS = errors(400, 404, 409, 413, 422)
ServiceDep = Annotated[DeploymentService, Depends(deployments)]
ProjectDep = Annotated[Project, Depends(project)]
NamePath = Annotated[str, Path(pattern=NAME_PATTERN, description="Deployment name")]
RevisionPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Revision number")]
MaxResults = Annotated[int, Query(ge=1, le=MAX_DEPLOYMENT_RESULTS)]


@router.post("", response_model=DeploymentOut, responses=WRITE_ERRORS, **requires(Permission.WRITE))
def create_deployment(
    body: DeploymentCreate, proj: ProjectDep, service: ServiceDep
) -> dict[str, Any]:
    """Create a deployment (409 if the name is taken; 404 if a model URI names nothing)."""
    return service.create(
        proj.id,
        body.name,
        [v.model_dump() for v in body.variants],
        shadow=None if body.shadow is None else body.shadow.model_dump(),
        description=body.description,
        deployment_id=body.deployment_id,
    ).to_dict()


@router.get(
    "", response_model=DeploymentPage, responses=errors(400, 404), **requires(Permission.READ)
)
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


@router.get(
    "/{name}", response_model=DeploymentOut, responses=errors(400, 404), **requires(Permission.READ)
)
def get_deployment(name: NamePath, proj: ProjectDep, service: ServiceDep) -> dict[str, Any]:
    """Return a deployment: variants, weights, shadow and revision."""
    return service.get(proj.id, name).to_dict()


@router.patch(
    "/{name}", response_model=DeploymentOut, responses=WRITE_ERRORS, **requires(Permission.ADMIN)
)
def update_deployment(
    name: NamePath, body: DeploymentUpdate, proj: ProjectDep, service: ServiceDep
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
    ).to_dict()


@router.delete(
    "/{name}", response_model=Empty, responses=errors(400, 404, 409), **requires(Permission.ADMIN)
)
def delete_deployment(name: NamePath, proj: ProjectDep, service: ServiceDep) -> dict[str, Any]:
    """Delete a deployment and its history."""
    service.delete(proj.id, name)
    return {}


@router.post(
    "/{name}/promote",
    response_model=DeploymentOut,
    responses=WRITE_ERRORS,
    **requires(Permission.ADMIN),
)
def promote(
    name: NamePath,
    body: DeploymentPromote,
    proj: ProjectDep,
    service: ServiceDep,
) -> dict[str, Any]:
    """Send all traffic to one variant (weight 100, the others 0; the shadow: made a variant)."""
    return service.promote(
        proj.id,
        name,
        body.variant,
        expected_revision=body.expected_revision,
    ).to_dict()


@router.post(
    "/{name}/rollback",
    response_model=DeploymentOut,
    responses=WRITE_ERRORS,
    **requires(Permission.ADMIN),
)
def rollback(
    name: NamePath,
    proj: ProjectDep,
    service: ServiceDep,
    body: Annotated[DeploymentRollback | None, Body()] = None,
) -> dict[str, Any]:
    """Restore the previous revision's variants and shadow (or ``to_revision``'s) as new."""
    body = body or DeploymentRollback()
    return service.rollback(
        proj.id,
        name,
        to_revision=body.to_revision,
        expected_revision=body.expected_revision,
    ).to_dict()


@router.get(
    "/{name}/history",
    response_model=DeploymentHistory,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
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


@router.get(
    "/{name}/revisions/{revision}",
    response_model=DeploymentEvent,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def get_revision(
    name: NamePath, revision: RevisionPath, proj: ProjectDep, service: ServiceDep
) -> dict[str, Any]:
    """Return the recorded change that made one revision."""
    return service.get_revision(proj.id, name, revision).to_dict()


class VariantTrafficOut(ResponseBody):
    """One variant's (or the shadow's) series, one value per bucket (null: no request)."""

    variant: str
    shadow: bool
    requests: list[int]
    mean_latency_ms: list[float | None]
    p95_latency_ms: list[float | None]


class TrafficOut(ResponseBody):
    """Requests and latency per variant and time bucket, read from the prediction log."""

    name: str
    start_ms: int
    end_ms: int
    bucket_ms: int
    times: list[int] = Field(description="Each bucket's start (UTC milliseconds)")
    variants: list[VariantTrafficOut]
    truncated: bool = Field(description="True when the window held more rows than one read")


@router.get(
    "/{name}/traffic",
    response_model=TrafficOut,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def traffic(
    name: NamePath,
    proj: ProjectDep,
    service: ServiceDep,
    minutes: Annotated[int, Query(ge=1, le=MAX_TRAFFIC_MINUTES)] = 60,
    buckets: Annotated[int, Query(ge=1, le=MAX_BUCKETS)] = 60,
) -> dict[str, Any]:
    """Return requests, mean and p95 latency per variant over the last ``minutes``."""
    return service.traffic(proj.id, name, minutes, buckets).to_dict()
