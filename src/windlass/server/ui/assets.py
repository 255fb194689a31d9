"""``/static/{path}``: the files shipped in ``ui/static/``, with ETags and long cache lives.

Pages link each file as ``/static/<name>?v=<first 12 hex of its sha256>``
(:func:`static_url`): a request naming the current version is cacheable for a year
(``immutable``), any other gets ``no-cache`` and the ETag, so a browser revalidates
(``If-None-Match`` answers 304). Only files of known kinds under the folder are served;
anything else, ``..`` included, is 404.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

STATIC = Path(__file__).with_name("static")
#: The content type of each kind of file the UI ships (nothing else is served).
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".md": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE files
}
YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Asset:
    """A static file's bytes, content type and version (sha256, hex)."""

    body: bytes
    content_type: str
    digest: str

    @property
    def version(self) -> str:
        """Return the short version pages put in the file's URL."""
        return self.digest[:12]


_lock = threading.Lock()
_assets: dict[str, Asset] = {}


def load(name: str) -> Asset | None:
    """Return the static file ``name`` (a path under ``static/``), or None if not servable."""
    with _lock:
        found = _assets.get(name)
        if found is not None:
            return found
    root = STATIC.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix not in TYPES:
        return None
    body = path.read_bytes()
    asset = Asset(body, TYPES[path.suffix], hashlib.sha256(body).hexdigest())
    with _lock:
        _assets[name] = asset
    return asset


def static_url(name: str) -> str:
    """Return the versioned URL of static file ``name`` (for templates)."""
    asset = load(name)
    if asset is None:
        raise LookupError(f"no static file {name!r}")
    return f"/static/{name}?v={asset.version}"


router = APIRouter(include_in_schema=False)


@router.get("/static/{name:path}")
def static_file(name: str, request: Request) -> Response:
    """Serve a static file of the UI (404 for anything else)."""
    asset = load(name)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    etag = f'"{asset.digest}"'
    if request.query_params.get("v") == asset.version:
        cache = f"public, max-age={YEAR}, immutable"
    else:
        cache = "no-cache"
    headers = {"etag": etag, "cache-control": cache}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)
