"""Rendering for the CLI: Rich tables for people, ``--json`` for scripts."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from windlass.entities import Run
from windlass.exceptions import WindlassError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


class _LazyConsole:
    """A Rich console made on first use.

    A command that prints nothing (``windlass server``) then never imports Rich: about
    25 ms of its start.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


console = cast("Console", _LazyConsole())
err_console = cast("Console", _LazyConsole(stderr=True))


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """Print data as JSON (NaN and infinities as strings)."""
    print(json.dumps(_jsonable(data), indent=2, sort_keys=False))


def print_items(items: Sequence[Any], next_page_token: str | None = None) -> None:
    """Print a listing as JSON, the one shape of every ``--json`` listing.

    ``{"items": [...], "next_page_token": ...}``: the items as dicts (``to_dict()`` where
    they have one), and the token of the next page (``null`` on the last page).
    """
    print_json(
        {
            "items": [i.to_dict() if hasattr(i, "to_dict") else i for i in items],
            "next_page_token": next_page_token,
        }
    )


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    keep: Sequence[str] = (),
    keep_headers: bool = False,
) -> None:
    """Print a Rich table, one line per row, that fits the terminal's width.

    Values are shown as text (never interpreted as markup). A cell too long for its column
    is cut with an ellipsis, never wrapped over lines; the columns named in ``keep`` (ids)
    are never cut, nor, with ``keep_headers``, any header (ids heading the columns).
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if title is not None:  # a line of its own: a title wider than the table is not wrapped
        console.print(Text(title, style="italic", no_wrap=True, overflow="ellipsis"), crop=True)
    # Column rules only under the header: every column gains the width of its borders.
    out = Table(box=box.SIMPLE_HEAD, show_lines=False, pad_edge=False)
    cells = [[_cell(v) for v in row] for row in rows]
    for index, column in enumerate(columns):
        widest = max((row[index].cell_len for row in cells), default=0)
        least = (
            max(widest, len(column)) if column in keep else len(column) if keep_headers else None
        )
        out.add_column(_cell(column), min_width=least)
    for row in cells:
        out.add_row(*row)
    console.print(out, crop=True)


def short_ids(
    ids: Sequence[str], resolve: Callable[[str], str] | None = None, min_length: int = 8
) -> dict[str, str]:
    """Return each id's shortest prefix that still names it (at least ``min_length`` long).

    A prefix is unique among ``ids`` and, when ``resolve`` is given (a function returning
    the full id a prefix names, raising if none or several), resolves back to its id, like
    the abbreviated commits git prints.
    """
    ordered = sorted(set(ids))
    shown: dict[str, str] = {}
    for i, full in enumerate(ordered):
        shared = max(
            (_common(full, other) for other in ordered[max(i - 1, 0) : i + 2] if other != full),
            default=0,
        )
        length = min(len(full), max(min_length, shared + 1))
        while resolve is not None and length < len(full):
            try:
                if resolve(full[:length]) == full:
                    break
            except WindlassError:
                pass
            length = min(len(full), length + 2)
        shown[full] = full[:length]
    return shown


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _cell(value: Any) -> Text:
    """Return a cell's text: one line, cut with an ellipsis when its column is narrower."""
    from rich.text import Text

    text = "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
    return Text(" ".join(text.splitlines()), no_wrap=True, overflow="ellipsis")


def run_row(
    run: Run, metric_keys: Sequence[str], param_keys: Sequence[str], shown_id: str | None = None
) -> list[Any]:
    """Return one table row for a run: id (or ``shown_id``), name, status, metrics, params."""
    return [
        shown_id or run.id,
        run.name,
        run.status.value,
        *(run.metrics[k].value if k in run.metrics else None for k in metric_keys),
        *(run.params.get(k) for k in param_keys),
    ]


def runs_table(
    runs: Sequence[Run],
    title: str | None = None,
    max_metrics: int = 4,
    max_params: int = 3,
    resolve: Callable[[str], str] | None = None,
) -> None:
    """Print runs with their most common metrics and params as columns.

    Runs are shown by the shortest prefix of their id that still names them (see
    :func:`short_ids`; ``resolve`` checks it against the store); ``--json`` gives full ids.
    """

    def common(keys: list[str], limit: int) -> list[str]:
        counts: dict[str, int] = {}
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        return sorted(sorted(counts, key=lambda k: -counts[k])[:limit])

    metric_keys = common([k for r in runs for k in r.metrics], max_metrics)
    param_keys = common([k for r in runs for k in r.params], max_params)
    shown = short_ids([r.id for r in runs], resolve)
    table(
        title,
        ["run", "name", "status", *metric_keys, *(f"params.{k}" for k in param_keys)],
        [run_row(r, metric_keys, param_keys, shown[r.id]) for r in runs],
        keep=("run",),
    )
