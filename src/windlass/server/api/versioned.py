"""The REST routes every versioned kind shares: versions, aliases and the alias history.

Models and prompts (and later datasets and evaluation suites) are each "a named object with
immutable numbered versions and aliases whose every move is recorded". Their routes under
``/api/v1/projects/{project}/<kind>s/{name}`` are built here once, by
:func:`add_versioned_routes`, from a :class:`VersionedKind`: the kind's service dependency,
the calls its service does not share with other kinds (creating an object, registering a
version, listing objects...), its request and response models. A create or register
body is a :class:`ServiceCall`: its fields are the keyword arguments of the service's call,
so a kind's own module declares the bodies and names the calls, and adds only the routes
that are its own (updating, deleting a version, lineage...).

Routes built:

- ``POST ""``, ``GET ""``: create one (409 if it exists, unless ``exist_ok``); list them;
- ``GET {name}``, ``DELETE {name}``: one, with its aliases and newest version; delete it;
- ``POST {name}/versions``: register the next version;
- ``GET {name}/versions``: the versions, newest first, one page at a time;
- ``GET {name}/versions/{version}``: one version;
- ``GET|PUT|DELETE {name}/aliases/{alias}``: the version an alias points to; move; remove;
- ``GET {name}/alias-history``: every recorded alias move, oldest first.
"""

# No ``from __future__ import annotations``: the handlers' annotations name the kind's
# dependency and models, which are local to the factory, and FastAPI reads them at runtime.

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, NamedTuple, Protocol, TypeVar, cast

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field, create_model

from windlass.access.policy import Permission
from windlass.entities import Page, Project
from windlass.exceptions import ApprovalPending
from windlass.principal import Principal
from windlass.server.api.common import (
    NAME_PATTERN,
    Empty,
    PageToken,
    RequestBody,
    ResponseBody,
    errors,
    requires,
)
from windlass.server.api.governance import AliasRequestOut
from windlass.server.deps import project

__all__ = [
    "AliasSet",
    "ObjectBody",
    "Operation",
    "Recorded",
    "ServiceCall",
    "VersionedKind",
    "VersionedService",
    "add_versioned_routes",
]


#: A version number: a positive 32-bit integer.
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number")]
AliasPath = Annotated[str, Path(pattern=NAME_PATTERN, description="Alias (`latest`: the newest)")]
ProjectDep = Annotated[Project, Depends(project)]


class Recorded(Protocol):
    """A domain object the routes render (a version, an alias event)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the object as JSON-ready data."""
        ...


class VersionedService(Protocol):
    """The calls every versioned kind's domain service answers alike."""

    def get_object(self, project_id: str, name: str) -> Recorded:
        """Return an object with its aliases and newest version number."""
        ...

    def list_objects(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[Any]:
        """Return one page of a project's objects, by name."""
        ...

    def delete_object(self, project_id: str, name: str) -> None:
        """Delete an object with all its versions."""
        ...

    def get_version(self, project_id: str, name: str, version: int) -> Recorded:
        """Return one version by number."""
        ...

    def get_version_by_alias(self, project_id: str, name: str, alias: str) -> Recorded:
        """Return the version an alias names (``latest``: the newest)."""
        ...

    def list_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[Any]:
        """Return one page of the object's versions, newest first."""
        ...

    def set_alias(
        self,
        project_id: str,
        name: str,
        alias: str,
        version: int,
        *,
        principal: Principal | None = None,
    ) -> Recorded:
        """Point an alias at a version; return the recorded move."""
        ...

    def delete_alias(
        self, project_id: str, name: str, alias: str, *, principal: Principal | None = None
    ) -> Recorded:
        """Remove an alias; return the recorded removal."""
        ...

    def alias_history(
        self, project_id: str, name: str, alias: str | None = None
    ) -> Sequence[Recorded]:
        """Return the recorded alias moves, oldest first."""
        ...


S = TypeVar("S", bound=VersionedService)


class ServiceCall(RequestBody):
    """A request body whose fields are the keyword arguments of one domain call.

    A body whose fields need converting first (files to entries, nested bodies to plain
    data) overrides :meth:`arguments`.
    """

    def arguments(self) -> dict[str, Any]:
        """Return the body as the keyword arguments of the domain call it is for."""
        return {field: getattr(self, field) for field in type(self).model_fields}


class ObjectBody(ResponseBody):
    """The fields every kind's object answers with; a kind's response model adds its own."""

    id: str
    project_id: str
    name: str
    created_at: int
    updated_at: int
    description: str


class AliasSet(RequestBody):
    """Point an alias at a version; the server's principal goes into the alias history."""

    version: Version


class Operation(NamedTuple):
    """One of a kind's own calls: its request body, its service call, its response model.

    The call is the service's unbound method; it takes the service, the project id, (but
    for creating an object) the object's name, and the body's
    :meth:`ServiceCall.arguments` as keyword arguments.
    """

    body: type[ServiceCall]
    call: Callable[..., Recorded]
    response: type[ResponseBody]


@dataclass(frozen=True)
class VersionedKind(Generic[S]):
    """What the shared routes need of one kind: its noun, its service and its own calls.

    The calls every kind's service answers alike are made directly
    (:class:`VersionedService`); the two that are each kind's own are :class:`Operation`:
    ``create`` makes an object (its response model is the object's, used by every route
    that returns one) and ``register`` its next version, by the service bound to the
    request's principal (its response model is a version's, used by every route that
    returns one).
    """

    #: The kind's noun, singular ("model", "prompt"): used in names and descriptions; its
    #: plural (an ``s`` added) is the collection's URL segment and a page's key.
    noun: str
    #: The dependency giving the kind's domain service.
    service: Callable[..., Awaitable[S]]
    #: The most objects or versions one page may hold (the store's bound).
    max_results: int
    create: Operation
    register: Operation

    @property
    def plural(self) -> str:
        """Return the kind's plural: its collection's URL segment and a page's key."""
        return f"{self.noun}s"


def _event_model(kind: VersionedKind[Any]) -> type[ResponseBody]:
    """Return the response model of one recorded alias move (its name key is the kind's)."""
    event: type[ResponseBody] = create_model(
        f"{kind.noun.capitalize()}AliasEvent",
        __base__=ResponseBody,
        __doc__="One recorded alias move: from which version to which (null: none), by whom, when.",
        **{f"{kind.noun}_name": (str, ...)},  # type: ignore[call-overload]
        alias=(str, ...),
        from_version=(int | None, ...),
        to_version=(int | None, ...),
        claimed_by=(str, ...),
        at=(int, ...),
    )
    return event


def _page_models(
    kind: VersionedKind[Any], event_model: type[ResponseBody]
) -> tuple[type[ResponseBody], type[ResponseBody], type[ResponseBody]]:
    """Return the response models of a page of objects, of versions, of an alias history."""
    title = kind.noun.capitalize()
    object_model, version_model = kind.create.response, kind.register.response
    objects = create_model(
        f"{title}Page",
        __base__=ResponseBody,
        __doc__=f"One page of a project's {kind.plural}, by name.",
        next_page_token=(str | None, None),
        **{kind.plural: (list[object_model], ...)},  # type: ignore[call-overload,valid-type]
    )
    versions = create_model(
        f"{title}VersionPage",
        __base__=ResponseBody,
        __doc__=f"One page of a {kind.noun}'s versions, newest first.",
        versions=(list[version_model], ...),  # type: ignore[valid-type]
        next_page_token=(str | None, None),
    )
    history = create_model(
        f"{title}AliasHistory",
        __base__=ResponseBody,
        __doc__=f"Every recorded alias move of a {kind.noun}, oldest first.",
        events=(list[event_model], ...),  # type: ignore[valid-type]
    )
    return objects, versions, history


def add_versioned_routes(router: APIRouter, kind: VersionedKind[S]) -> None:
    """Add the routes every versioned kind shares (see the module) for ``kind`` to ``router``.

    ``router``'s prefix is the kind's collection (``/api/v1/projects/{project}/<kind>s``).
    """
    noun = kind.noun
    service_dependency = Depends(kind.service)
    NamePath = Annotated[str, Path(pattern=NAME_PATTERN, description=f"{noun.capitalize()} name")]
    MaxResults = Annotated[int, Query(ge=1, le=kind.max_results)]
    event_model = _event_model(kind)
    ObjectPage, VersionPage, AliasHistory = _page_models(kind, event_model)
    CreateBody = kind.create.body
    RegisterBody = kind.register.body
    object_model, version_model = kind.create.response, kind.register.response

    @router.post(
        "",
        name=f"create_{noun}",
        response_model=object_model,
        responses=errors(400, 404, 409, 413, 422),
        description=f"Create a {noun} (409 if it exists, unless `exist_ok`).",
        **requires(Permission.WRITE),
    )
    def create(
        body: CreateBody,  # type: ignore[valid-type]
        proj: ProjectDep,
        service: Annotated[S, service_dependency],
    ) -> dict[str, Any]:
        return kind.create.call(service, proj.id, **cast(ServiceCall, body).arguments()).to_dict()

    @router.get(
        "",
        name=f"list_{kind.plural}",
        response_model=ObjectPage,
        responses=errors(400, 404),
        description=f"List a project's {kind.plural} by name, one page at a time.",
        **requires(Permission.READ),
    )
    def list_objects(
        proj: ProjectDep,
        service: Annotated[S, service_dependency],
        max_results: MaxResults = 100,
        page_token: PageToken = None,
    ) -> dict[str, Any]:
        page = service.list_objects(proj.id, max_results, page_token)
        return {
            kind.plural: [o.to_dict() for o in page.items],
            "next_page_token": page.next_page_token,
        }

    @router.get(
        "/{name}",
        name=f"get_{noun}",
        response_model=object_model,
        responses=errors(400, 404),
        description=f"Return a {noun} with its aliases and newest version number.",
        **requires(Permission.READ),
    )
    def get_object(
        name: NamePath, proj: ProjectDep, service: Annotated[S, service_dependency]
    ) -> dict[str, Any]:
        return service.get_object(proj.id, name).to_dict()

    @router.delete(
        "/{name}",
        name=f"delete_{noun}",
        response_model=Empty,
        responses=errors(400, 404, 409),
        description=f"Delete a {noun} with all its versions (409, naming them, while "
        "aliases or other objects use it).",
        **requires(Permission.ADMIN),
    )
    def delete_object(
        name: NamePath, proj: ProjectDep, service: Annotated[S, service_dependency]
    ) -> dict[str, Any]:
        service.delete_object(proj.id, name)
        return {}

    @router.post(
        "/{name}/versions",
        name="create_version",
        response_model=version_model,
        responses=errors(400, 404, 409, 413, 422),
        description=f"Register the {noun}'s next version (by default creating the {noun} on "
        "first use). The same `version_id` again returns the version it registered.",
        **requires(Permission.WRITE),
    )
    def create_version(
        name: NamePath,
        body: RegisterBody,  # type: ignore[valid-type]
        proj: ProjectDep,
        service: Annotated[S, service_dependency],
    ) -> dict[str, Any]:
        return kind.register.call(
            service, proj.id, name, **cast(ServiceCall, body).arguments()
        ).to_dict()

    @router.get(
        "/{name}/versions",
        response_model=VersionPage,
        responses=errors(400, 404),
        description=f"List a {noun}'s versions, newest first, one page at a time.",
        **requires(Permission.READ),
    )
    def list_versions(
        name: NamePath,
        proj: ProjectDep,
        service: Annotated[S, service_dependency],
        max_results: MaxResults = 100,
        page_token: PageToken = None,
    ) -> dict[str, Any]:
        page = service.list_versions(proj.id, name, max_results, page_token)
        return {
            "versions": [v.to_dict() for v in page.items],
            "next_page_token": page.next_page_token,
        }

    @router.get(
        "/{name}/versions/{version}",
        response_model=version_model,
        responses=errors(400, 404),
        description=f"Return one version of a {noun}.",
        **requires(Permission.READ),
    )
    def get_version(
        name: NamePath,
        version: VersionPath,
        proj: ProjectDep,
        service: Annotated[S, service_dependency],
    ) -> dict[str, Any]:
        return service.get_version(proj.id, name, version).to_dict()

    @router.get(
        "/{name}/aliases/{alias}",
        response_model=version_model,
        responses=errors(400, 404),
        description="Return the version an alias points to.",
        **requires(Permission.READ),
    )
    def get_alias(
        name: NamePath,
        alias: AliasPath,
        proj: ProjectDep,
        service: Annotated[S, service_dependency],
    ) -> dict[str, Any]:
        return service.get_version_by_alias(proj.id, name, alias).to_dict()

    @router.put(
        "/{name}/aliases/{alias}",
        response_model=event_model,
        responses={
            202: {
                "model": AliasRequestOut,
                "description": "The alias is protected and the project has two-person review "
                "on: it did not move; the pending alias request waits for a second admin.",
            },
            **errors(400, 404, 409, 413, 422),
        },
        description="Point an alias at a version; return the recorded move (202: a pending "
        "alias request, when two-person review holds the move).",
        **requires(Permission.WRITE),
    )
    def set_alias(
        name: NamePath,
        alias: AliasPath,
        body: AliasSet,
        proj: ProjectDep,
        service: Annotated[S, service_dependency],
    ) -> Any:
        try:
            return service.set_alias(proj.id, name, alias, body.version).to_dict()
        except ApprovalPending as held:
            # Two-person review: the alias did not move; the request waits for an admin.
            return JSONResponse(held.details["request"], status_code=202)

    @router.delete(
        "/{name}/aliases/{alias}",
        response_model=event_model,
        responses=errors(400, 404, 409),
        description="Remove an alias; return the recorded removal.",
        **requires(Permission.WRITE),
    )
    def delete_alias(
        name: NamePath,
        alias: AliasPath,
        proj: ProjectDep,
        service: Annotated[S, service_dependency],
    ) -> dict[str, Any]:
        return service.delete_alias(proj.id, name, alias).to_dict()

    @router.get(
        "/{name}/alias-history",
        response_model=AliasHistory,
        responses=errors(400, 404),
        description=f"Return every recorded alias move of the {noun} (or of one alias), "
        "oldest first.",
        **requires(Permission.READ),
    )
    def alias_history(
        name: NamePath,
        proj: ProjectDep,
        service: Annotated[S, service_dependency],
        alias: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
    ) -> dict[str, Any]:
        return {"events": [e.to_dict() for e in service.alias_history(proj.id, name, alias)]}
