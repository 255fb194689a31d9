"""``/docs`` and ``/redoc`` work offline: every asset they name is served by the server itself."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import windlass
from windlass_testing import ModelServerProcess, ServerProcess

# What a page must load for the UI to work, by the asset's file name.
EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture
def model_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelServerProcess]:
    windlass.set_tracking_uri(None)
    monkeypatch.setenv("WINDLASS_PROJECT", "api-docs")
    x = np.random.default_rng(0).random((30, 3))
    with windlass.start_run():
        windlass.log_model(
            LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int)),
            name="model",
            input_example=x[:2],
            registered_model_name="docs",
        )
    server = ModelServerProcess("models:/docs/1", log_dir=tmp_path)
    yield server
    server.stop()


def asset_urls(html: str) -> list[str]:
    """Return every URL the page loads: src, href and quoted URL strings in its script."""
    found = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    found += re.findall(r"""["'](https?://[^"']+)["']""", html)
    return found


def check_offline_page(url: str, page: str, asset_names: set[str]) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        answer = client.get(page)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/html")
        urls = asset_urls(answer.text)
        # The page's policy lets exactly its own inline script run (by hash), and the
        # assets load from the server itself ('self'): see test_security_headers.py.
        policy = answer.headers["content-security-policy"]
        scripts = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
        assert "'self'" in scripts and "'unsafe-inline'" not in scripts, policy
        for script in re.findall(r"<script>(.*?)</script>", answer.text, re.DOTALL):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy, policy
        assert {u.rsplit("/", 1)[-1] for u in urls} >= asset_names, urls
        for asset in urls:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            got = client.get(asset)
            assert got.status_code == 200, asset
            suffix = Path(asset).suffix
            assert EXPECTED_TYPES[suffix] in got.headers["content-type"], asset
            assert len(got.content) > 1000, asset
        if page == "/docs":
            assert (
                "SwaggerUIBundle"
                in client.get(next(u for u in urls if u.endswith("swagger-ui-bundle.js"))).text
            )
        assert client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}),
        ("/redoc", {"redoc.standalone.js", "favicon.png"}),
    ],
)
def test_tracking_server_docs_load_no_cdn(
    server: ServerProcess, page: str, assets: set[str]
) -> None:
    check_offline_page(server.url, page, assets)


def test_model_server_docs_load_no_cdn(model_server: ModelServerProcess) -> None:
    check_offline_page(model_server.url, "/docs", {"swagger-ui-bundle.js", "swagger-ui.css"})
    check_offline_page(model_server.url, "/redoc", {"redoc.standalone.js"})


def test_docs_pages_stay_out_of_the_openapi_document(server: ServerProcess) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]
