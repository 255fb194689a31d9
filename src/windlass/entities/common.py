"""Plain data objects every area shares: projects, pages of a listing, ISO times."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: The aliases a project protects when it has not set its own list.
DEFAULT_PROTECTED_ALIASES: tuple[str, ...] = ("production", "champion")


def iso(ms: int | None) -> str | None:
    """Return integer UTC milliseconds as an ISO 8601 string (None stays None)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Project:
    """A named container for runs, models, datasets, prompts and traces."""

    id: str
    name: str
    created_at: int
    description: str = ""
    #: Aliases only an admin of the project may move or remove.
    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED_ALIASES
    #: Whether a protected alias moves only once a second admin approves the move.
    two_person_review: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at,
            "description": self.description,
            "protected_aliases": list(self.protected_aliases),
            "two_person_review": self.two_person_review,
        }


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_page_token`` is None on the last page."""

    items: list[T]
    next_page_token: str | None = None


def all_pages(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    """Return every item of a paged listing: ``fetch(page_token)`` until the last page."""
    items: list[T] = []
    token: str | None = None
    while True:
        page = fetch(token)
        items.extend(page.items)
        if page.next_page_token is None:
            return items
        token = page.next_page_token
