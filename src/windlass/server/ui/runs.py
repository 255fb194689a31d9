"""``/projects/{project}/runs``: the runs table of a project.

Server-side throughout, so it reads with JavaScript off and stays fast at 10,000 runs:
one keyset page of the store's search (100 runs by default, ``page_token`` for the next),
sorted by a clicked column, filtered with the search language (a parse error is shown
with a caret under its position), and the param, metric and tag columns the chooser picked.
Every choice lives in the query string, so a URL shares the exact view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from windlass.access.policy import Permission
from windlass.entities import Run
from windlass.exceptions import InvalidFilter, LimitExceeded
from windlass.server.ui.render import render
from windlass.server.ui.session import Viewer, serve_page

router = APIRouter(include_in_schema=False)
#: Runs per page unless the query string asks for another size (at most MAX_PAGE_SIZE).
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: Most columns a view may choose, and most keys per scope the chooser offers.
MAX_COLUMNS = 60
MAX_CHOICES = 300
#: Columns shown before the viewer chooses: this many metrics, then params.
DEFAULT_PER_SCOPE = 4
#: The run attributes the table always shows, and their headers.
ATTRIBUTE_COLUMNS = {"name": "Name", "status": "Status", "start_time": "Started", "user": "User"}
SCOPES = ("metrics", "params", "tags")


@dataclass(frozen=True)
class Column:
    """One column of the table: a run attribute, or a key of a run's metrics, params or tags."""

    scope: str
    key: str

    @property
    def id(self) -> str:
        """Return the column's id in the query string (``metrics.loss``, ``name``)."""
        return self.key if self.scope == "attributes" else f"{self.scope}.{self.key}"

    @property
    def label(self) -> str:
        """Return the column's header."""
        return ATTRIBUTE_COLUMNS.get(self.key, self.key)

    @property
    def numeric(self) -> bool:
        """Return whether the column holds numbers (right-aligned)."""
        return self.scope == "metrics"

    def clause(self, ascending: bool) -> str:
        """Return the search's ``order_by`` clause sorting by this column."""
        key = self.key.replace("`", "")
        return f"{self.scope}.`{key}` {'ASC' if ascending else 'DESC'}"

    def cell(self, run: Run) -> str:
        """Return the text of this column in ``run``'s row."""
        if self.scope == "metrics":
            metric = run.metrics.get(self.key)
            return "" if metric is None else format_number(metric.value)
        if self.scope == "params":
            return run.params.get(self.key, "")
        if self.scope == "tags":
            return run.tags.get(self.key, "")
        if self.key == "status":
            return run.status.value
        if self.key == "user":
            return run.source.user
        return str(getattr(run, self.key))


def format_number(value: float) -> str:
    """Return a metric value as a short text (six significant digits; NaN and ±inf named)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return f"{value:.6g}"


def parse_column(text: str) -> Column | None:
    """Return the column a query-string id names, or None for an unknown one."""
    if text in ATTRIBUTE_COLUMNS:
        return Column("attributes", text)
    scope, dot, key = text.partition(".")
    if not dot or scope not in SCOPES or not key or len(key) > 250:
        return None
    return Column(scope, key)


def choices(runs: list[Run]) -> dict[str, list[str]]:
    """Return the keys of each scope the runs of a page have (sorted, bounded)."""
    found: dict[str, set[str]] = {scope: set() for scope in SCOPES}
    for run in runs:
        found["metrics"].update(run.metrics)
        found["params"].update(run.params)
        found["tags"].update(k for k in run.tags if not k.startswith("windlass."))
    return {scope: sorted(keys)[:MAX_CHOICES] for scope, keys in found.items()}


def default_columns(keys: dict[str, list[str]]) -> list[Column]:
    """Return the columns a view shows before its viewer chooses any."""
    return [
        Column(scope, key)
        for scope in ("metrics", "params")
        for key in keys[scope][:DEFAULT_PER_SCOPE]
    ]


@router.get("/projects/{project}/runs")
async def runs_page(
    request: Request,
    project: str,
    filter: Annotated[str, Query(max_length=20_000)] = "",
    sort: Annotated[str, Query(max_length=300)] = "start_time",
    dir: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    col: Annotated[list[str] | None, Query(max_length=300)] = None,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    """Return the runs table of a project (sorted, filtered, paged, with chosen columns)."""

    def build(viewer: Viewer) -> Response:
        tracking = viewer.tracking
        found = tracking.get_project(project)
        sort_column = parse_column(sort) or Column("attributes", "start_time")
        order = [sort_column.clause(dir == "asc")]
        if sort_column.key != "start_time":
            order.append("attributes.start_time DESC")
        problem: dict[str, Any] | None = None
        runs: list[Run] = []
        next_token = None
        try:
            page = tracking.search_runs([found.id], filter.strip() or None, order, size, page_token)
            runs, next_token = page.items, page.next_page_token
        except (InvalidFilter, LimitExceeded) as error:
            problem = {
                "message": error.message.split("\n", 1)[0],
                "text": str(error.details.get("filter", filter)),
                "position": int(error.details.get("position", 0)),
            }
        keys = choices(runs)
        explicit = col is not None
        chosen = [c for c in (parse_column(t) for t in (col or []) if t) if c is not None]
        columns = chosen[:MAX_COLUMNS] if explicit else default_columns(keys)
        for column in columns:  # chosen keys stay offered even when this page lacks them
            if column.scope in keys and column.key not in keys[column.scope]:
                keys[column.scope].append(column.key)
        state: dict[str, Any] = {
            "filter": filter,
            "sort": sort_column.id,
            "dir": dir,
            "col": [c.id for c in columns] if explicit else None,
            "size": size if size != PAGE_SIZE else None,
        }
        return render(
            viewer,
            "runs.html",
            {
                "project": found,
                "area": "runs",
                "runs": runs,
                "attributes": [Column("attributes", k) for k in ATTRIBUTE_COLUMNS],
                "columns": columns,
                "chosen": {c.id for c in columns},
                "keys": keys,
                "state": state,
                "explicit": explicit,
                "problem": problem,
                "next_page_token": next_token,
                "first_page": page_token is None,
                "format_number": format_number,
            },
        )

    return await serve_page(request, Permission.READ, build)
