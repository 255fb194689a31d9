"""``/projects/{project}/models`` and ``/projects/{project}/models/{name}``: the registry.

The list shows a project's registered models; a model's page shows its versions (flavors,
signature, source run, registrant), its aliases with every recorded move, the model card
(Markdown rendered without raw HTML, as artifact previews are) and, for the chosen
version (``?version=``, the newest by default), its lineage as a small server-drawn SVG:
dataset inputs -> run -> version -> the deployments serving it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from windlass.access.policy import Permission
from windlass.entities import Deployment, ModelVersion
from windlass.exceptions import WindlassError
from windlass.server.ui.artifacts import markdown_html
from windlass.server.ui.render import render
from windlass.server.ui.session import Viewer, serve_listing, serve_page

router = APIRouter(include_in_schema=False)
#: Models listed per page, versions shown on a model page.
MODELS_PER_PAGE = 100
VERSIONS_SHOWN = 100
#: Deployments scanned for the ones serving a version (lineage).
SCANNED_DEPLOYMENTS = 100
#: Lineage boxes drawn per column (the rest are counted).
LINEAGE_BOXES = 8

ProjectPath = Annotated[str, Path(max_length=256)]
ModelPath = Annotated[str, Path(max_length=256)]


@dataclass
class LineageBox:
    """One box of the lineage graph: its label, link and place."""

    label: str
    href: str
    column: int
    row: int

    @property
    def x(self) -> int:
        """Return the box's left edge."""
        return 10 + self.column * 190

    @property
    def y(self) -> int:
        """Return the box's top edge."""
        return 10 + self.row * 44


@dataclass
class LineageGraph:
    """The lineage of one version as boxes in four columns and edges between them."""

    boxes: list[LineageBox] = field(default_factory=list)
    edges: list[tuple[LineageBox, LineageBox]] = field(default_factory=list)
    more: dict[int, int] = field(default_factory=dict)

    @property
    def height(self) -> int:
        """Return the drawing's height."""
        rows = max((b.row for b in self.boxes), default=0) + 1
        return 20 + rows * 44


def serving(deployment: Deployment, version: ModelVersion) -> bool:
    """Return whether a variant or the shadow of ``deployment`` serves ``version``."""
    wanted = {f"models:/{version.name}/{version.version}"}
    wanted.update(f"models:/{version.name}@{alias}" for alias in version.aliases)
    variants = [*deployment.variants, *([deployment.shadow] if deployment.shadow else [])]
    return any(v.model_uri in wanted for v in variants)


def lineage_graph(
    project: str, version: ModelVersion, inputs: list[Any], deployments: list[Deployment]
) -> LineageGraph:
    """Return the graph: dataset inputs -> run -> version -> deployments serving it."""
    graph = LineageGraph()

    def column(index: int, boxes: list[LineageBox], total: int) -> list[LineageBox]:
        graph.boxes.extend(boxes)
        if total > len(boxes):
            graph.more[index] = total - len(boxes)
        return boxes

    datasets = column(
        0,
        [
            LineageBox(f"{d.name} ({d.context})" if d.context else d.name, "", 0, i)
            for i, d in enumerate(inputs[:LINEAGE_BOXES])
        ],
        len(inputs),
    )
    runs = column(
        1,
        [LineageBox(f"run {version.run_id[:8]}", f"/runs/{version.run_id}", 1, 0)]
        if version.run_id
        else [],
        1 if version.run_id else 0,
    )
    made = LineageBox(f"{version.name} v{version.version}", "", 2, 0)
    column(2, [made], 1)
    served = column(
        3,
        [
            LineageBox(d.name, f"/projects/{quote(project, safe='')}/deployments/{d.name}", 3, i)
            for i, d in enumerate(deployments[:LINEAGE_BOXES])
        ],
        len(deployments),
    )
    for run in runs:
        graph.edges.extend((d, run) for d in datasets)
        graph.edges.append((run, made))
    graph.edges.extend((made, d) for d in served)
    return graph


def signature_rows(manifest: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Return a version's signature as (direction, column, type) rows."""
    signature = manifest.get("signature") or {}
    rows: list[tuple[str, str, str]] = []
    for direction in ("inputs", "outputs"):
        side = signature.get(direction) if isinstance(signature, dict) else None
        if not isinstance(side, dict):
            continue
        if side.get("type") == "tensor":
            rows.append((direction, "(tensor)", f"{side.get('dtype')} {side.get('shape')}"))
            continue
        for column in side.get("columns") or []:
            if isinstance(column, dict):
                rows.append((direction, str(column.get("name", "")), str(column.get("dtype", ""))))
    return rows


@router.get("/projects/{project}/models")
async def models_page(
    request: Request,
    project: ProjectPath,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    """Return the page listing a project's registered models."""
    return await serve_listing(
        request,
        project,
        "models",
        lambda viewer, pid: viewer.services.registry.acting_as(viewer.principal).list_models(
            pid, MODELS_PER_PAGE, page_token
        ),
    )


@router.get("/projects/{project}/models/{name}")
async def model_page(
    request: Request,
    project: ProjectPath,
    name: ModelPath,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """Return a model's page: versions, aliases and their history, card, a version's lineage."""

    def build(viewer: Viewer) -> Response:
        found = viewer.tracking.get_project(project)
        registry = viewer.services.registry.acting_as(viewer.principal)
        model = registry.get_model(found.id, name)
        versions = registry.list_versions(found.id, name, VERSIONS_SHOWN).items
        chosen: ModelVersion | None = None
        if version is not None:
            chosen = registry.get_version(found.id, name, version)
        elif versions:
            chosen = versions[0]
        graph = None
        lineage = None
        if chosen is not None:
            lineage = registry.lineage(found.id, name, chosen.version)
            service = viewer.services.deployments.acting_as(viewer.principal)
            try:
                scanned = service.list(found.id, SCANNED_DEPLOYMENTS).items
            except WindlassError:
                scanned = []
            graph = lineage_graph(
                found.name, chosen, lineage.inputs, [d for d in scanned if serving(d, chosen)]
            )
        return render(
            viewer,
            "model.html",
            {
                "project": found,
                "area": "models",
                "model": model,
                "versions": versions,
                "chosen": chosen,
                "lineage": lineage,
                "graph": graph,
                "history": list(reversed(registry.alias_history(found.id, name))),
                "card_html": markdown_html(model.card) if model.card else "",
                "signature_rows": signature_rows,
            },
        )

    return await serve_page(request, Permission.READ, build)
