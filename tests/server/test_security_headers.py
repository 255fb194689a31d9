"""Security headers: nosniff on every response; CSP, no framing, no referrer on HTML pages."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

import windlass
from asgi_thread import serving
from windlass.server.model_server import create_model_server_app
from windlass.server.security_headers import DEFAULT_CSP, SecurityHeaders, add_security_headers
from windlass_testing import ServerProcess

HTML_ONLY = ("content-security-policy", "x-frame-options", "referrer-policy")


def check_html(answer: httpx.Response) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy
    assert "'unsafe-eval'" not in policy and "script-src 'self'" in policy
    assert "*" not in policy and "http" not in policy  # nothing from another origin
    assert len(answer.headers.get_list("content-security-policy")) == 1


def check_json(answer: httpx.Response) -> None:
    assert answer.headers["content-type"].startswith("application/json"), answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert len(answer.headers.get_list("x-content-type-options")) == 1
    assert not [h for h in HTML_ONLY if h in answer.headers]


def test_tracking_server_headers(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        check_html(client.get("/docs"))
        check_html(client.get("/redoc"))
        check_json(client.get("/openapi.json"))
        check_json(client.get("/api/v1/projects"))
        missing = client.get("/api/v1/nowhere")
        assert missing.status_code == 404
        check_json(missing)
        script = client.get("/docs-assets/swagger-ui-bundle.js")
        assert script.headers["x-content-type-options"] == "nosniff"
    # A body declared too big is answered by the body-size limit, outside FastAPI.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n{" % (1 << 40)
        )
        head = sock.recv(65536).split(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 413") and b"x-content-type-options: nosniff" in head


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    windlass.set_tracking_uri(None)
    monkeypatch.setenv("WINDLASS_PROJECT", "headers")
    x = np.random.default_rng(0).random((30, 3))
    with windlass.start_run():
        windlass.log_model(
            LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int)),
            name="model",
            input_example=x[:2],
            registered_model_name="headed",
        )
    yield "models:/headed/1"
    windlass.set_tracking_uri(None)


def test_model_server_headers(model: str) -> None:
    with serving(create_model_server_app(model)) as url, httpx.Client(base_url=url) as client:
        check_html(client.get("/docs"))
        check_html(client.get("/redoc"))
        scored = client.post("/predict", json={"inputs": [[0.1, 0.2, 0.3]]})
        assert scored.status_code == 200, scored.text
        check_json(scored)
        check_json(client.post("/predict", content=b"{not json"))
        check_json(client.get("/v2/health/ready"))
        assert client.get("/metrics").headers["x-content-type-options"] == "nosniff"


def test_model_server_headers_with_auth(model: str) -> None:
    """POST /predict sends nosniff itself: behind bearer auth it still comes once."""
    from windlass.server.api_keys import StaticApiKeys

    key = "k-" + "a" * 30
    app = create_model_server_app(model, authenticate=StaticApiKeys([key]))
    with serving(app) as url, httpx.Client(base_url=url) as client:
        auth = {"Authorization": f"Bearer {key}"}
        scored = client.post("/predict", json={"inputs": [[0.1, 0.2, 0.3]]}, headers=auth)
        assert scored.status_code == 200, scored.text
        check_json(scored)
        refused = client.post("/predict", json={"inputs": [[0.1, 0.2, 0.3]]})
        assert refused.status_code == 401
        check_json(refused)
        check_html(client.get("/docs", headers=auth))


def test_headers_the_app_set_are_kept_and_html_is_recognised() -> None:
    json_headers = [(b"content-type", b"application/json")]
    add_security_headers(json_headers)
    assert json_headers == [(b"content-type", b"application/json"), _nosniff()]
    html = [(b"content-type", b"TEXT/HTML; charset=utf-8"), (b"x-frame-options", b"SAMEORIGIN")]
    add_security_headers(html)
    assert dict(html)[b"x-frame-options"] == b"SAMEORIGIN"
    assert dict(html)[b"content-security-policy"] == DEFAULT_CSP.encode()
    assert dict(html)[b"referrer-policy"] == b"no-referrer"
    assert len(html) == 5
    already = [(b"x-content-type-options", b"nosniff")]
    add_security_headers(already)
    assert already == [_nosniff()]


def _nosniff() -> tuple[bytes, bytes]:
    return (b"x-content-type-options", b"nosniff")


# -- in a real browser: the API docs render under their policy -----------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def console_of(url: str, home: Path) -> tuple[str, list[str]]:
    """Load ``url`` in headless Chromium; return the rendered DOM and its console lines."""
    assert CHROMIUM is not None, "chromium is missing: make system-deps installs it"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--v=0"]
    flags += ["--enable-logging=stderr", "--virtual-time-budget=10000", "--dump-dom"]
    done = subprocess.run(
        [CHROMIUM, *flags, url],
        capture_output=True,
        text=True,
        timeout=90,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def violations(console: list[str]) -> list[str]:
    """Return the policy violations, leaving out loads from other origins (blocked: wanted)."""
    found = [line for line in console if "Content Security Policy" in line]
    return [line for line in found if "'https://" not in line and "'http://" not in line]


def test_the_docs_pages_render_under_their_policy(server: ServerProcess, tmp_path: Path) -> None:
    dom, console = console_of(f"{server.url}/docs", tmp_path)
    assert not violations(console), console
    assert "opblock" in dom  # Swagger UI fetched the document and drew its operations
    dom, console = console_of(f"{server.url}/redoc", tmp_path)
    assert not violations(console), console
    assert "menu-content" in dom  # ReDoc drew its menu


def test_the_default_policy_refuses_inline_scripts(tmp_path: Path) -> None:
    """A page that brings no policy of its own gets one that blocks inline code."""

    async def page(_request: Request) -> HTMLResponse:
        return HTMLResponse("<html><body><script>document.body.id = 'ran'</script></body></html>")

    app = SecurityHeaders(Starlette(routes=[Route("/", page)]))
    with serving(app) as url:
        dom, console = console_of(url + "/", tmp_path)
    assert 'id="ran"' not in dom
    assert any("inline script" in line for line in violations(console)), console
