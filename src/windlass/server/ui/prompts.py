"""``/projects/{project}/prompts`` and ``/projects/{project}/prompts/{name}``: prompts.

A prompt's page shows its versions, its aliases with every recorded move, one version's
template and variables (``?version=``, the newest by default), a side-by-side diff of any
two versions (``?old=&new=``, computed here with difflib over the lines
:func:`~windlass.genai.prompts.registry.content_lines` gives, every line escaped by the
template) and a render preview whose form posts to the REST API's
``POST /api/v1/projects/{project}/prompts/{name}/render`` (``static/registry.js``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from itertools import zip_longest
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from windlass.access.policy import Permission
from windlass.entities import PromptVersion
from windlass.genai.prompts.registry import content_lines
from windlass.server.ui.render import render
from windlass.server.ui.session import Viewer, serve_listing, serve_page

router = APIRouter(include_in_schema=False)
#: Prompts listed per page, versions shown on a prompt page.
PROMPTS_PER_PAGE = 100
VERSIONS_SHOWN = 100
#: Lines a side-by-side diff shows (a longer diff is cut, and says so).
MAX_DIFF_ROWS = 5000

ProjectPath = Annotated[str, Path(max_length=256)]
PromptPath = Annotated[str, Path(max_length=256)]
VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff: each side's line number and text, and the change."""

    change: str  # equal, replace, delete or insert
    old_number: int | None
    old_text: str
    new_number: int | None
    new_text: str


def side_by_side(old: list[str], new: list[str]) -> list[DiffRow]:
    """Return the rows of a side-by-side diff of two lists of lines."""
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for change, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = zip_longest(range(i1, i2), range(j1, j2))
        for left, right in pairs:
            rows.append(
                DiffRow(
                    change,
                    None if left is None else left + 1,
                    "" if left is None else old[left],
                    None if right is None else right + 1,
                    "" if right is None else new[right],
                )
            )
    return rows


@router.get("/projects/{project}/prompts")
async def prompts_page(
    request: Request,
    project: ProjectPath,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    """Return the page listing a project's prompts."""
    return await serve_listing(
        request,
        project,
        "prompts",
        lambda viewer, pid: viewer.services.prompts.acting_as(viewer.principal).list_prompts(
            pid, PROMPTS_PER_PAGE, page_token
        ),
    )


@router.get("/projects/{project}/prompts/{name}")
async def prompt_page(
    request: Request,
    project: ProjectPath,
    name: PromptPath,
    version: VersionQuery = None,
    old: VersionQuery = None,
    new: VersionQuery = None,
) -> Response:
    """Return a prompt's page: versions, aliases and history, one version, a diff of two."""

    def build(viewer: Viewer) -> Response:
        found = viewer.tracking.get_project(project)
        registry = viewer.services.prompts.acting_as(viewer.principal)
        prompt = registry.get_prompt(found.id, name)
        versions = registry.list_versions(found.id, name, VERSIONS_SHOWN).items
        shown: PromptVersion | None = None
        if version is not None:
            shown = registry.get(found.id, name, version=version)
        elif versions:
            shown = versions[0]
        diff: list[DiffRow] | None = None
        compared: tuple[PromptVersion, PromptVersion] | None = None
        if old is not None and new is not None:
            compared = (
                registry.get(found.id, name, version=old),
                registry.get(found.id, name, version=new),
            )
            diff = side_by_side(content_lines(compared[0]), content_lines(compared[1]))
        return render(
            viewer,
            "prompt.html",
            {
                "project": found,
                "area": "prompts",
                "prompt": prompt,
                "versions": versions,
                "shown": shown,
                "compared": compared,
                "diff": None if diff is None else diff[:MAX_DIFF_ROWS],
                "diff_cut": diff is not None and len(diff) > MAX_DIFF_ROWS,
                "old": old,
                "new": new,
                "history": list(reversed(registry.alias_history(found.id, name))),
            },
        )

    return await serve_page(request, Permission.READ, build)
