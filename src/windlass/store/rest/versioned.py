"""The REST client's core of every versioned kind (models, prompts; next datasets).

A versioned kind's routes share one shape under ``/api/v1/projects/{project}/{kind}``:
``/{name}`` for the object, ``/{name}/versions[/{n}]``, ``/{name}/aliases/{alias}`` and
``/{name}/alias-history``. :class:`VersionedResource` makes those requests once and
builds the kind's own entities from the answers. It is every kind's REST
:class:`~windlass.store.versioned.VersionedStore` (``store.registry.objects``,
``store.prompts.objects``); a kind's REST store adds only the bodies of its creates and
updates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from windlass.entities import AliasMove, Page
from windlass.entities.governance import alias_request_from_dict, is_alias_request
from windlass.exceptions import ApprovalPending, NotFound
from windlass.store.rest.transport import RestTransport, paging, segment
from windlass.store.versioned import VersionedStore

O = TypeVar("O")  # noqa: E741 - the object, as V is the version and E the alias event
V = TypeVar("V")
E = TypeVar("E", bound=AliasMove)


class VersionedResource(VersionedStore[O, V, E]):
    """The routes of one versioned kind, answering with its object, version and event."""

    def __init__(
        self,
        http: RestTransport,
        collection: str,
        *,
        object_from: Callable[[dict[str, Any]], O],
        version_from: Callable[[dict[str, Any]], V],
        event_from: Callable[[dict[str, Any]], E],
        noun: str,
        version_not_found: type[NotFound],
    ) -> None:
        self.http = http
        self.collection = collection
        self.object_from = object_from
        self.version_from = version_from
        self.event_from = event_from
        self.noun = noun
        self.version_not_found = version_not_found

    def path(self, project_id: str, name: str | None = None) -> str:
        """Return the URL path of the project's collection, or of one object in it."""
        path = f"/api/v1/projects/{segment(project_id)}/{self.collection}"
        return path if name is None else f"{path}/{segment(name)}"

    # -- objects -------------------------------------------------------------------------
    def create(self, project_id: str, body: dict[str, Any]) -> O:
        """Create an object (the body's id makes a retry safe) and return it."""
        return self.object_from(self.http.request("POST", self.path(project_id), json=body))

    def get_object(self, project_id: str, name: str) -> O:
        """Return one object."""
        return self.object_from(self.http.request("GET", self.path(project_id, name)))

    def update(self, project_id: str, name: str, body: dict[str, Any]) -> O:
        """Change an object and return it."""
        return self.object_from(self.http.request("PATCH", self.path(project_id, name), json=body))

    def list_objects(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[O]:
        """Return one page of a project's objects, by name."""
        body = self.http.request(
            "GET", self.path(project_id), params=paging(max_results, page_token)
        )
        items = [self.object_from(o) for o in body[self.collection]]
        return Page(items, body.get("next_page_token"))

    def delete_object(self, project_id: str, name: str) -> None:
        """Delete an object with its versions (a retry after a lost reply finds it gone)."""
        self.http.request("DELETE", self.path(project_id, name), gone_ok=True)

    # -- versions ------------------------------------------------------------------------
    def create_version(self, project_id: str, name: str, body: dict[str, Any]) -> V:
        """Register the next version (the body's ``version_id`` makes a retry safe)."""
        return self.version_from(
            self.http.request("POST", f"{self.path(project_id, name)}/versions", json=body)
        )

    def get_version(self, project_id: str, name: str, version: int) -> V:
        """Return one version."""
        path = f"{self.path(project_id, name)}/versions/{int(version)}"
        return self.version_from(self.http.request("GET", path))

    def get_version_by_alias(self, project_id: str, name: str, alias: str) -> V:
        """Return the version an alias points to."""
        path = f"{self.path(project_id, name)}/aliases/{segment(alias)}"
        return self.version_from(self.http.request("GET", path))

    def list_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[V]:
        """Return one page of an object's versions, newest first."""
        body = self.http.request(
            "GET",
            f"{self.path(project_id, name)}/versions",
            params=paging(max_results, page_token),
        )
        return Page([self.version_from(v) for v in body["versions"]], body.get("next_page_token"))

    def delete_version(self, project_id: str, name: str, version: int) -> None:
        """Delete a version."""
        self.http.request(
            "DELETE", f"{self.path(project_id, name)}/versions/{int(version)}", gone_ok=True
        )

    # -- aliases -------------------------------------------------------------------------
    def set_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> E:
        """Point an alias at a version; return the recorded move.

        ``claimed_by`` and ``at`` are not sent: the server records its own principal and time.
        A move the server holds for two-person review (202) raises ApprovalPending.
        """
        body = self.http.request(
            "PUT",
            f"{self.path(project_id, name)}/aliases/{segment(alias)}",
            json={"version": version},
        )
        if is_alias_request(body):  # 202: two-person review holds the move
            request = alias_request_from_dict(body)
            raise ApprovalPending.held(request)
        return self.event_from(body)

    def delete_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> E:
        """Remove an alias; return the recorded move (the server's principal and time).

        Retried after a lost reply, the alias is gone: return the removal that attempt recorded.
        """
        body = self.http.request(
            "DELETE", f"{self.path(project_id, name)}/aliases/{segment(alias)}", gone_ok=True
        )
        if body is not None:
            return self.event_from(body)
        moves = self.alias_history(project_id, name, alias)
        if moves and moves[-1].to_version is None:
            return moves[-1]
        raise self.version_not_found(
            f"{self.noun} {name!r} has no alias {alias!r}", **{self.noun: name, "alias": alias}
        )

    def alias_history(self, project_id: str, name: str, alias: str | None = None) -> list[E]:
        """Return the recorded alias moves (of one alias, if given), oldest first."""
        params = {} if alias is None else {"alias": alias}
        body = self.http.request(
            "GET", f"{self.path(project_id, name)}/alias-history", params=params
        )
        return [self.event_from(e) for e in body["events"]]
