"""Previews of a run's artifact files: what kind each is, and its head rendered safely.

Text, JSON, CSV and Parquet heads are rendered into the run page as escaped text or
tables; Markdown is rendered by markdown-it-py with raw HTML off (so any ``<script>`` in
it prints as text, and ``javascript:`` links are dropped by its link validation); images
and HTML pages are loaded from ``/runs/{id}/artifact`` (:func:`raw_headers`), HTML in an
``<iframe sandbox="">`` and with a policy of its own that runs nothing.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

from windlass.tracking.service import Tracking

#: Bytes of a file read for a text, JSON, Markdown or CSV preview.
PREVIEW_BYTES = 256 * 1024
#: Rows of a CSV or Parquet head.
HEAD_ROWS = 50
#: Largest Parquet file previewed (it is read whole).
MAX_PARQUET_BYTES = 64 * 1024 * 1024

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
TEXT_SUFFIXES = frozenset(
    {".txt", ".log", ".yaml", ".yml", ".py", ".cfg", ".toml", ".ini", ".sh", ".json", ".jsonl"}
)
TEXT_NAMES = frozenset({"MLmodel", "requirements.txt", "conda.yaml", "LICENSE", "README"})

#: The policy of an HTML artifact served to its sandboxed frame: nothing runs, nothing loads
#: but inline styles and data: images; only pages of this server may frame it.
HTML_ARTIFACT_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
)


def kind_of(path: str) -> str:
    """Return how a file is previewed: image, html, markdown, json, csv, parquet, text or none."""
    name = posixpath.basename(path)
    suffix = posixpath.splitext(name)[1].lower()
    if suffix in IMAGE_TYPES:
        return "image"
    if suffix in (".html", ".htm"):
        return "html"
    if suffix in (".md", ".markdown"):
        return "markdown"
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix == ".parquet":
        return "parquet"
    if suffix in TEXT_SUFFIXES or name in TEXT_NAMES:
        return "text"
    return "none"


def raw_headers(path: str) -> tuple[str, dict[str, str]]:
    """Return the content type and headers a raw artifact file is served with.

    Images and HTML (sandboxed, with :data:`HTML_ARTIFACT_CSP`) are shown inline; anything
    else is a download (``attachment``, ``application/octet-stream``), so no file of a run
    is ever interpreted by the browser as a page of this server.
    """
    kind = kind_of(path)
    suffix = posixpath.splitext(path)[1].lower()
    name = posixpath.basename(path).replace('"', "")
    if kind == "image":
        return IMAGE_TYPES[suffix], {"cache-control": "private, max-age=3600"}
    if kind == "html":
        return "text/html; charset=utf-8", {
            "content-security-policy": HTML_ARTIFACT_CSP,
            "x-frame-options": "SAMEORIGIN",
            "cache-control": "private, no-cache",
        }
    disposition = f'attachment; filename="{name.encode("ascii", "replace").decode()}"'
    return "application/octet-stream", {"content-disposition": disposition}


@dataclass
class Preview:
    """The preview of one artifact file, ready for the template."""

    path: str
    kind: str
    size: int
    text: str = ""
    html: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    cut: bool = False
    problem: str = ""


def markdown_html(text: str) -> str:
    """Return Markdown as HTML with raw HTML escaped and unsafe links dropped."""
    from markdown_it import MarkdownIt

    html: str = MarkdownIt("commonmark", {"html": False, "linkify": False}).render(text)
    return html


def preview(tracking: Tracking, run_id: str, path: str) -> Preview:
    """Return the preview of a run's artifact file (read through the tracking service)."""
    entry = tracking.get_artifact(run_id, path)
    kind = kind_of(entry.path)
    found = Preview(entry.path, kind, entry.size)
    if kind in ("image", "html", "none"):
        return found
    if kind == "parquet":
        return _parquet(tracking, entry.digest, found)
    with tracking.blobs.open_stream(entry.digest) as stream:
        head = stream.read(PREVIEW_BYTES)
    found.cut = entry.size > len(head)
    text = head.decode("utf-8", "replace")
    if kind == "markdown":
        found.html = markdown_html(text)
    elif kind == "json":
        try:
            found.text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            found.text = text
    elif kind == "csv":
        dialect = "excel-tab" if entry.path.lower().endswith(".tsv") else "excel"
        rows = list(_head(csv.reader(io.StringIO(text), dialect), HEAD_ROWS + 1))
        if rows:
            found.header, found.rows = rows[0], rows[1:]
    else:
        found.text = text
    return found


def _head(rows: Any, count: int) -> Any:
    for index, row in enumerate(rows):
        if index >= count:
            return
        yield row


def _parquet(tracking: Tracking, digest: str, found: Preview) -> Preview:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        found.problem = "Parquet previews need pyarrow (pip install 'windlass[ml]')."
        return found
    if found.size > MAX_PARQUET_BYTES:
        found.problem = "This Parquet file is too large to preview."
        return found
    with tracking.blobs.open_stream(digest) as stream:
        data = stream.read()
    table = pq.ParquetFile(io.BytesIO(data))
    found.header = list(table.schema_arrow.names)
    for batch in table.iter_batches(batch_size=HEAD_ROWS):
        found.rows = [[str(v) for v in row.values()] for row in batch.to_pylist()]
        break
    found.cut = table.metadata.num_rows > len(found.rows)
    return found
