"""The UI's Jinja2 environment: built on first render, autoescape on for every template.

Jinja2 is imported here, lazily: building the server app never loads it, and the
templates are compiled when a page is first asked for. Every template, whatever its name,
escapes what it prints (``autoescape=True``, not by file extension): run names, params and
tags are user input. Templates read three helpers: ``static(name)`` (a versioned URL of a
file under ``static/``), ``can(permission, project_id)`` (may the viewer do it) and
``iso(millis)`` (a UTC timestamp as ISO 8601).
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.responses import HTMLResponse

if TYPE_CHECKING:
    import jinja2

    from windlass.server.ui.session import Viewer

TEMPLATES = Path(__file__).with_name("templates")
_lock = threading.Lock()
_environment: jinja2.Environment | None = None


def iso(millis: int | None) -> str:
    """Return UTC milliseconds since the epoch as ISO 8601 (seconds), or ``""`` for None."""
    if millis is None:
        return ""
    moment = dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def query(base: dict[str, Any], **changes: Any) -> str:
    """Return ``?`` and the query string of ``base`` with ``changes`` (None drops a key)."""
    merged = {**base, **changes}
    pairs = [(k, v) for k, v in merged.items() if v not in (None, "", [])]
    flat: list[tuple[str, str]] = []
    for key, value in pairs:
        if isinstance(value, list | tuple):
            flat.extend((key, str(v)) for v in value)
        else:
            flat.append((key, str(value)))
    return "?" + urlencode(flat) if flat else "?"


def environment() -> jinja2.Environment:
    """Return the UI's template environment, built once on first use."""
    global _environment
    with _lock:
        if _environment is None:
            import jinja2

            from windlass.server.ui.assets import static_url

            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.globals.update(static=static_url, iso=iso, query=query)
            _environment = env
        return _environment


def render(
    viewer: Viewer | None, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """Return ``template`` rendered for ``viewer`` (None on the sign-in page) as a response."""
    page = environment().get_template(template)
    html = page.render(
        {"area": "", "project": None, **context},
        viewer=viewer,
        can=viewer.can if viewer is not None else (lambda *_args: False),
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
