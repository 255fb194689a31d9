"""The UI tests' world: served sites, Debian's Chromium through Playwright, the XSS corpus.

One browser per test module (``executable_path=/usr/bin/chromium``, its ``HOME`` in a
temporary folder; ``playwright install`` is never run). The ``page`` fixture fails its
test on any console error, uncaught page error, failed request or 4xx/5xx answer to a
subresource, and on any ``alert``/``confirm``/``prompt`` call (an init script records
them: an injected script that ran would call one); it saves a 1440x900 screenshot to
``tests/ui/artifacts/<test>.png`` either way.

The sites are real servers (:func:`asgi_thread.serving`) over SQLite and, where
``WINDLASS_TEST_POSTGRES_URL`` is set, PostgreSQL, each filled with the same world: runs
with params, metrics and artifacts, and the XSS corpus in every user string.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import windlass
from asgi_thread import serving
from windlass.access.identity import Identity
from windlass.access.policy import Policy
from windlass.principal import AuthMethod, Principal
from windlass.server.app import create_app
from windlass.server.deps import SESSION_COOKIE
from windlass.store.sql.store import SqlStore
from windlass.tracking.backend import open_tracking
from windlass_testing import POSTGRES_SKIP, scratch_postgres_database

ARTIFACTS = Path(__file__).with_name("artifacts")
CHROMIUM = "/usr/bin/chromium"
#: User strings that must always show as text and never run.
XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{7*7}}",
]
#: Steps of the long series (more than the 2000 points an overview shows).
LONG_STEPS = 3000

XSS_HOOK = """
(() => {
  const calls = [];
  Object.defineProperty(window, "__xssCalls", { value: calls });
  for (const name of ["alert", "confirm", "prompt"]) {
    window[name] = function (message) { calls.push(name + ":" + String(message)); return null; };
  }
})();
"""


def png_bytes() -> bytes:
    """Return a real 2x2 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@dataclass
class Site:
    """A served UI with its store and the ids of the world in it."""

    url: str
    store: str
    runs: dict[str, str] = field(default_factory=dict)


def fill(store: str, artifacts: Path, scratch: Path) -> dict[str, str]:
    """Log the world into ``store``: two plain runs, one run per XSS string; return ids."""
    ids: dict[str, str] = {}
    with windlass.Client(store, project="demo", artifact_uri=str(artifacts)) as client:
        for name, lr in (("baseline", "0.1"), ("tuned", "0.01")):
            with client.runs.start(name=name, tags={"team": "vision"}) as run:
                client.runs.log_params({"lr": lr, "depth": "4" if name == "baseline" else "6"})
                rate = float(lr)
                for step in range(LONG_STEPS):
                    client.runs.log_metric("loss", 1.0 / (1 + rate * step), step=step)
                client.runs.log_metric("acc", 0.8 if name == "baseline" else 0.9, step=1)
            ids[name] = run.id
        notes = scratch / "notes.md"
        notes.write_text(
            "# Notes\n\n" + "\n\n".join(XSS) + "\n\n[click](javascript:alert(1))\n\n"
            "<img src=x onerror=alert(1)>\n"
        )
        page = scratch / "report.html"
        page.write_text("<h1>report</h1><script>alert(1)</script><img src=x onerror=alert(1)>")
        (scratch / "table.csv").write_text("a,b\n1,<script>alert(1)</script>\n2,{{7*7}}\n")
        (scratch / "data.json").write_text('{"x": "<script>alert(1)</script>"}')
        (scratch / "plot.png").write_bytes(png_bytes())
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(
            pa.table({"n": list(range(80)), "text": [XSS[i % len(XSS)] for i in range(80)]}),
            scratch / "head.parquet",
        )
        for i, text in enumerate(XSS):
            with client.runs.start(name=text, tags={"note": text}) as run:
                client.runs.log_params({"payload": text, f"p{i}": text})
                client.runs.log_metric("loss", 0.5 + i, step=0)
                odd = scratch / text.replace("/", "_")
                odd.write_text(text)
                client.runs.log_artifact(odd)
                made_files = ("notes.md", "report.html", "table.csv", "data.json", "plot.png")
                for made in (*made_files, "head.parquet"):
                    client.runs.log_artifact(scratch / made)
            ids[f"xss{i}"] = run.id
    with (
        windlass.Client(store, project="other", artifact_uri=str(artifacts)) as client,
        client.runs.start(name="elsewhere"),
    ):
        pass
    return ids


@contextlib.contextmanager
def site(store: str, root: Path) -> Iterator[Site]:
    """Serve the UI over ``store`` (filled with the world) for the block."""
    artifacts = root / "artifacts"
    scratch = root / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    ids = fill(store, artifacts, scratch)
    app = create_app(open_tracking(store, str(artifacts)), auth=False)
    with serving(app) as url:
        yield Site(url, store, ids)


@pytest.fixture(scope="session")
def sqlite_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The UI over a SQLite store, for the session."""
    root = tmp_path_factory.mktemp("ui-sqlite")
    with site(f"sqlite:///{root / 'ui.db'}", root) as served:
        yield served


@pytest.fixture(scope="session")
def postgres_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The UI over a PostgreSQL store, for the session (skipped without PostgreSQL)."""
    if not os.environ.get("WINDLASS_TEST_POSTGRES_URL"):
        pytest.skip(POSTGRES_SKIP)
    root = tmp_path_factory.mktemp("ui-postgres")
    with scratch_postgres_database("windlass_ui") as url, site(url, root) as served:
        yield served


@pytest.fixture(params=["sqlite", "postgresql"])
def any_site(request: pytest.FixtureRequest) -> Site:
    """The UI over each store kind in turn."""
    name = "sqlite_site" if request.param == "sqlite" else "postgres_site"
    found: Site = request.getfixturevalue(name)
    return found


class AuthSite:
    """A served app with auth on: an admin token, a viewer token, and a run in ``demo``."""

    def __init__(self, url: str, admin: str, viewer: str, run_id: str) -> None:
        self.url = url
        self.admin = admin
        self.viewer = viewer
        self.run_id = run_id

    def client(self, token: str | None = None) -> httpx.Client:
        """Return a client, signed in through the session cookie when ``token`` is given."""
        cookies = {SESSION_COOKIE: token} if token else None
        return httpx.Client(base_url=self.url, cookies=cookies, timeout=30)


def tokens(uri: str) -> tuple[str, str]:
    """Create an admin and a user ``val`` viewing ``demo``; return a token of each."""
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        root = identity.create_user(Principal("installer"), "root", bootstrap=True)
        admin = Principal("root", auth=AuthMethod.TOKEN, user_id=root.id, admin=True)
        val = identity.create_user(admin, "val")
        identity.set_member(admin, "demo", "val", "viewer")
        viewer = Principal("val", auth=AuthMethod.TOKEN, user_id=val.id)
        return identity.create_token(admin, name="t")[1], identity.create_token(viewer, name="t")[1]
    finally:
        store.close()


@pytest.fixture(scope="session")
def auth_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthSite]:
    """A served app with auth on (admin and viewer tokens) and one run in ``demo``."""
    root = tmp_path_factory.mktemp("ui-auth")
    uri = f"sqlite:///{root / 'auth.db'}"
    with (
        windlass.Client(uri, project="demo", artifact_uri=str(root / "a")) as client,
        client.runs.start(name="r") as run,
    ):
        for step in range(5000):
            client.runs.log_metric("loss", float((step * 7919) % 1000), step=step)
        (root / "page.html").write_text("<script>alert(1)</script>")
        (root / "notes.txt").write_text("hello")
        client.runs.log_artifact(root / "page.html")
        client.runs.log_artifact(root / "notes.txt")
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        client.models.log(model, "model", registered_model_name="clf")
    admin, viewer = tokens(uri)
    app = create_app(open_tracking(uri, str(root / "a")), auth=True)
    with serving(app) as url:
        yield AuthSite(url, admin, viewer, run.id)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright, for a test module.

    Not for the session: Playwright's sync API keeps an asyncio loop running on the main
    thread while it is open, and every later test calling ``asyncio.run`` (the CLI's
    ``serve --dry-run``, for one) would fail. One module drives the browser, so this is
    still one browser per run.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("chromium-home")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu"],
            env={"HOME": str(home), "PATH": os.environ.get("PATH", "")},
        )
        yield launched
        launched.close()


class Watch:
    """What went wrong in a page: console errors, page errors, failed requests, XSS calls."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        """Let console errors matching ``pattern`` pass (a test expecting them says so)."""
        self.allowed.append(re.compile(pattern))

    def problem(self, text: str) -> None:
        """Record a problem unless it is allowed."""
        if not any(p.search(text) for p in self.allowed):
            self.problems.append(text)


@pytest.fixture
def watch() -> Watch:
    """The problems the ``page`` fixture collects (``watch.allow`` to expect some)."""
    return Watch()


@pytest.fixture
def page(browser: Any, watch: Watch, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh 1440x900 page that fails the test on any error or XSS call."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script(XSS_HOOK)
    context.set_default_timeout(10_000)
    opened = context.new_page()
    opened.on("console", lambda m: m.type == "error" and watch.problem(f"console: {m.text}"))
    opened.on("pageerror", lambda e: watch.problem(f"page error: {e}"))

    def answered(response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            watch.problem(f"{response.status} for {response.url}")

    def failed(req: Any) -> None:
        if "ERR_ABORTED" not in (req.failure or ""):
            watch.problem(f"request failed: {req.url} ({req.failure})")

    opened.on("response", answered)
    opened.on("requestfailed", failed)
    try:
        yield opened
        calls = opened.evaluate("() => Array.from(window.__xssCalls || [])")
        assert calls == [], f"injected script ran: {calls}"
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        with contextlib.suppress(Exception):
            opened.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        context.close()
    assert watch.problems == [], watch.problems


def xss_calls(page: Any) -> list[str]:
    """Return the alert/confirm/prompt calls the page (main frame) recorded."""
    calls: list[str] = page.evaluate("() => Array.from(window.__xssCalls || [])")
    return calls
