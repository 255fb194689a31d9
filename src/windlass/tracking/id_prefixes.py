"""Ids by unique prefix, as git takes commits: ``runs show 0193f2a1c4``.

Run and trace ids are 32 hex characters. A shorter hex text names the one id that starts
with it; none is a NotFound of the kind, several an :class:`InvalidInput` listing some of
them. The search runs through the store's own listing methods (``search_runs``,
``search_traces``), so it works alike over SQL and a windlass server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from windlass.entities import ViewType, all_pages
from windlass.exceptions import InvalidInput, RunNotFound, TraceNotFound
from windlass.store.metadata import MetadataStore

#: The length of a full id.
ID_LENGTH = 32
#: The shortest prefix accepted (shorter ones would rarely be unique).
MIN_PREFIX = 4
_HEX = re.compile(r"^[0-9a-f]+$")


def _prefix(kind: str, text: str) -> str | None:
    """Return ``text`` lowered if it is a hex prefix to search, None if it is a full id."""
    lowered = text.strip().lower()
    if len(lowered) == ID_LENGTH and _HEX.match(lowered):
        return None
    if not MIN_PREFIX <= len(lowered) < ID_LENGTH or not _HEX.match(lowered):
        raise InvalidInput(
            f"{text[:80]!r} is not a {kind} id: give the id (32 hex "
            f"characters) or a unique prefix of it ({MIN_PREFIX} or more)",
            id=text[:100],
        )
    return lowered


def _one(kind: str, text: str, found: list[str], not_found: Callable[[], Exception]) -> str:
    if not found:
        raise not_found()
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise InvalidInput(
            f"the prefix {text!r} is ambiguous: {len(found)} {kind}s start with "
            f"it ({shown}); give more characters",
            id=text,
            matches=found[:5],
        )
    return found[0]


def resolve_run_id(store: MetadataStore, text: str) -> str:
    """Return the run id ``text`` names: a full id as given, or the one it is a prefix of.

    Deleted runs count (they can be shown and restored).
    """
    prefix = _prefix("run", text)
    if prefix is None:
        return text.strip().lower()
    page = store.runs.search_runs(None, f"id like '{prefix}%'", max_results=6, view=ViewType.ALL)
    return _one(
        "run",
        text,
        [run.id for run in page.items],
        lambda: RunNotFound(f"no run id starts with {text!r}", run_id=text),
    )


def resolve_trace_id(store: MetadataStore, text: str, project_ids: Sequence[str] = ()) -> str:
    """Return the trace id ``text`` names, searching ``project_ids`` (empty: every project)."""
    prefix = _prefix("trace", text)
    if prefix is None:
        return text.strip().lower()
    projects = list(project_ids) or [
        p.id for p in all_pages(lambda token: store.runs.list_projects(1000, token))
    ]
    if not projects:
        raise TraceNotFound(f"no trace id starts with {text!r}", trace_id=text)
    page = store.traces.search_traces(projects, f"trace_id like '{prefix}%'", max_results=6)
    ids = list(dict.fromkeys(t.trace_id for t in page.items))
    return _one(
        "trace",
        text,
        ids,
        lambda: TraceNotFound(f"no trace id starts with {text!r}", trace_id=text),
    )
