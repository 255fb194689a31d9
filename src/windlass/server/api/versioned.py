"""The REST routes every versioned kind shares: versions, aliases and the alias history.

Models and prompts (and later datasets and evaluation suites) are each "a named object with
immutable numbered versions and aliases whose every move is recorded". Their routes under
``/api/v1/projects/{project}/<kind>s/{name}`` are built here once, by
:func:`add_versioned_routes`, from a :class:`VersionedKind`: the kind's service dependency,
its calls into that service and its response models. A kind's own module adds what is
its own (creating, updating, registering a version, lineage...).

Routes built:

- ``GET {name}/versions``: the versions, newest first, one page at a time;
- ``GET {name}/versions/{version}``: one version;
- ``GET|PUT|DELETE {name}/aliases/{alias}``: the version an alias points to; move; remove;
- ``GET {name}/alias-history``: every recorded alias move, oldest first.
"""

# No ``from __future__ import annotations``: the handlers' annotations name the kind's
# dependency and models, which are local to the factory, and FastAPI reads them at runtime.

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field, create_model

from windlass.entities import Page, Project
from windlass.server.api.common import (
    NAME_PATTERN,
    Claim,
    ClaimQuery,
    PageToken,
    RequestBody,
    ResponseBody,
    errors,
)
from windlass.server.deps import project

__all__ = ["AliasSet", "VersionedKind", "add_versioned_routes"]

S = TypeVar("S")

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


class AliasSet(RequestBody):
    """Point an alias at a version; ``claimed_by`` goes into the alias history, as a claim."""

    version: Version
    claimed_by: Claim | None = None


@dataclass(frozen=True)
class VersionedKind(Generic[S]):
    """What the shared routes need of one kind: its service, its calls and its models.

    Each call takes the service first, then the project id and the object's name.
    """

    #: The kind's noun, singular ("model", "prompt"): used in descriptions.
    noun: str
    #: The dependency giving the kind's domain service.
    service: Callable[..., S]
    #: The response models of one version and of one recorded alias move.
    version_model: type[ResponseBody]
    event_model: type[ResponseBody]
    #: The most versions one page may hold (the store's bound).
    max_results: int
    list_versions: Callable[[S, str, str, int, str | None], Page[Any]]
    get_version: Callable[[S, str, str, int], Recorded]
    get_by_alias: Callable[[S, str, str, str], Recorded]
    set_alias: Callable[[S, str, str, str, int, str], Recorded]
    delete_alias: Callable[[S, str, str, str, str], Recorded]
    alias_history: Callable[[S, str, str, str | None], Sequence[Recorded]]


def _page_models(kind: VersionedKind[Any]) -> tuple[type[ResponseBody], type[ResponseBody]]:
    """Return the response models of a page of versions and of an alias history."""
    title = kind.noun.capitalize()
    page = create_model(
        f"{title}VersionPage",
        __base__=ResponseBody,
        __doc__=f"One page of a {kind.noun}'s versions, newest first.",
        versions=(list[kind.version_model], ...),  # type: ignore[name-defined]
        next_page_token=(str | None, None),
    )
    history = create_model(
        f"{title}AliasHistory",
        __base__=ResponseBody,
        __doc__=f"Every recorded alias move of a {kind.noun}, oldest first.",
        events=(list[kind.event_model], ...),  # type: ignore[name-defined]
    )
    return page, history


def add_versioned_routes(router: APIRouter, kind: VersionedKind[S]) -> None:
    """Add the version, alias and alias-history routes of ``kind`` to ``router``.

    ``router``'s prefix is the kind's collection (``/api/v1/projects/{project}/<kind>s``).
    """
    noun = kind.noun
    Service = Annotated[Any, Depends(kind.service)]
    NamePath = Annotated[str, Path(pattern=NAME_PATTERN, description=f"{noun.capitalize()} name")]
    MaxResults = Annotated[int, Query(ge=1, le=kind.max_results)]
    VersionPage, AliasHistory = _page_models(kind)

    @router.get(
        "/{name}/versions",
        response_model=VersionPage,
        responses=errors(400, 404),
        description=f"List a {noun}'s versions, newest first, one page at a time.",
    )
    def list_versions(
        name: NamePath,
        proj: ProjectDep,
        service: Service,
        max_results: MaxResults = 100,
        page_token: PageToken = None,
    ) -> dict[str, Any]:
        page = kind.list_versions(service, proj.id, name, max_results, page_token)
        return {
            "versions": [v.to_dict() for v in page.items],
            "next_page_token": page.next_page_token,
        }

    @router.get(
        "/{name}/versions/{version}",
        response_model=kind.version_model,
        responses=errors(400, 404),
        description=f"Return one version of a {noun}.",
    )
    def get_version(
        name: NamePath, version: VersionPath, proj: ProjectDep, service: Service
    ) -> dict[str, Any]:
        return kind.get_version(service, proj.id, name, version).to_dict()

    @router.get(
        "/{name}/aliases/{alias}",
        response_model=kind.version_model,
        responses=errors(400, 404),
        description="Return the version an alias points to.",
    )
    def get_alias(
        name: NamePath, alias: AliasPath, proj: ProjectDep, service: Service
    ) -> dict[str, Any]:
        return kind.get_by_alias(service, proj.id, name, alias).to_dict()

    @router.put(
        "/{name}/aliases/{alias}",
        response_model=kind.event_model,
        responses=errors(400, 404, 409, 413, 422),
        description="Point an alias at a version; return the recorded move.",
    )
    def set_alias(
        name: NamePath, alias: AliasPath, body: AliasSet, proj: ProjectDep, service: Service
    ) -> dict[str, Any]:
        return kind.set_alias(
            service, proj.id, name, alias, body.version, body.claimed_by or ""
        ).to_dict()

    @router.delete(
        "/{name}/aliases/{alias}",
        response_model=kind.event_model,
        responses=errors(400, 404, 409),
        description="Remove an alias; return the recorded removal.",
    )
    def delete_alias(
        name: NamePath,
        alias: AliasPath,
        proj: ProjectDep,
        service: Service,
        claimed_by: ClaimQuery = None,
    ) -> dict[str, Any]:
        return kind.delete_alias(service, proj.id, name, alias, claimed_by or "").to_dict()

    @router.get(
        "/{name}/alias-history",
        response_model=AliasHistory,
        responses=errors(400, 404),
        description=f"Return every recorded alias move of the {noun} (or of one alias), "
        "oldest first.",
    )
    def alias_history(
        name: NamePath,
        proj: ProjectDep,
        service: Service,
        alias: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
    ) -> dict[str, Any]:
        return {"events": [e.to_dict() for e in kind.alias_history(service, proj.id, name, alias)]}
