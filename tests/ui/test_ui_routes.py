"""The UI's routes over HTTP (no browser): sign-in, permissions, headers, files, series."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from ui_world import AuthSite, Site

from windlass.server.deps import SESSION_COOKIE
from windlass.server.security_headers import DEFAULT_CSP


def test_a_page_without_a_session_redirects_to_the_login_page(auth_site: AuthSite) -> None:
    with auth_site.client() as client:
        answer = client.get("/projects/demo/runs?filter=x")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fprojects%2Fdemo%2Fruns%3Ffilter%3Dx"
        login = client.get(answer.headers["location"])
        assert login.status_code == 200
        assert 'name="token"' in login.text and "identity provider" not in login.text
        assert 'value="/projects/demo/runs?filter=x"' in login.text


def test_token_sign_in_sets_the_session_cookie_and_sign_out_clears_it(auth_site: AuthSite) -> None:
    with auth_site.client() as client:
        refused = client.post("/login", data={"token": "wl_nonsense", "next": "/projects"})
        assert refused.status_code == 401 and "not accepted" in refused.text
        assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
        answer = client.post("/login", data={"token": auth_site.viewer, "next": "/projects"})
        assert answer.status_code == 303 and answer.headers["location"] == "/projects"
        cookie = answer.headers["set-cookie"].lower()
        assert cookie.startswith(f"{SESSION_COOKIE}=") and "httponly" in cookie
        assert "samesite=lax" in cookie and "path=/" in cookie
        projects = client.get("/projects")
        assert projects.status_code == 200 and "demo" in projects.text and "val" in projects.text
        out = client.post("/logout")
        assert out.status_code == 303 and "max-age=0" in out.headers["set-cookie"].lower()
        client.cookies.clear()
        assert client.get("/projects").status_code == 303


def test_sign_in_from_another_origin_is_refused(auth_site: AuthSite) -> None:
    with auth_site.client() as client:
        answer = client.post(
            "/login",
            data={"token": auth_site.admin},
            headers={"origin": "https://evil.example"},
        )
        assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_a_next_path_off_the_server_is_not_followed(auth_site: AuthSite) -> None:
    with auth_site.client() as client:
        answer = client.post("/login", data={"token": auth_site.admin, "next": "//evil.example/x"})
        assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_viewer_sees_no_mutation_controls_and_admin_does(auth_site: AuthSite) -> None:
    page = f"/runs/{auth_site.run_id}"
    with auth_site.client(auth_site.viewer) as viewer, auth_site.client(auth_site.admin) as admin:
        seen = viewer.get(page)
        assert seen.status_code == 200 and "data-run-actions" not in seen.text
        assert "<code>models:/clf/1</code>" in seen.text  # the version the run produced
        assert "Delete run" not in seen.text
        shown = admin.get(page)
        assert shown.status_code == 200 and "data-run-actions" in shown.text
        # The control's call is the REST API's, which refuses the viewer on its own.
        refused = viewer.delete(
            f"/api/v1/runs/{auth_site.run_id}", headers={"x-windlass-csrf": "1"}
        )
        assert refused.status_code == 403


def test_a_project_without_a_role_is_an_error_page_not_data(auth_site: AuthSite) -> None:
    with auth_site.client(auth_site.viewer) as viewer:
        answer = viewer.get("/projects/nowhere/runs")
        assert answer.status_code in (403, 404) and "text/html" in answer.headers["content-type"]
        runs = viewer.get("/projects/demo/runs")
        assert runs.status_code == 200 and 'href="/runs/' in runs.text


def test_pages_carry_the_default_policy_and_no_inline_code(auth_site: AuthSite) -> None:
    with auth_site.client(auth_site.admin) as client:
        for path in ("/projects", "/projects/demo/runs", f"/runs/{auth_site.run_id}", "/login"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["content-security-policy"] == DEFAULT_CSP
            html = answer.text
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
            assert not re.search(r"\sstyle=", html), path
            assert not re.search(r"\son[a-z]+=", html), path


def test_static_files_are_versioned_cached_and_confined(auth_site: AuthSite) -> None:
    with auth_site.client() as client:
        page = client.get("/login").text
        href = re.search(r'href="(/static/ui\.css\?v=[0-9a-f]{12})"', page)
        assert href is not None
        answer = client.get(href.group(1))
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/css")
        assert "immutable" in answer.headers["cache-control"]
        etag = answer.headers["etag"]
        again = client.get("/static/ui.css", headers={"if-none-match": etag})
        assert again.status_code == 304 and again.headers["cache-control"] == "no-cache"
        assert client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
        for bad in ("/static/../session.py", "/static/%2e%2e/session.py", "/static/nope.js"):
            assert client.get(bad).status_code == 404, bad


def test_html_artifacts_run_nothing_and_other_files_download(auth_site: AuthSite) -> None:
    base = f"/runs/{auth_site.run_id}/artifact"
    with auth_site.client(auth_site.viewer) as client:
        html = client.get(base, params={"path": "page.html"})
        assert html.status_code == 200
        policy = html.headers["content-security-policy"]
        assert policy.startswith("sandbox;") and "script-src" not in policy
        assert "default-src 'none'" in policy and html.headers["x-frame-options"] == "SAMEORIGIN"
        text = client.get(base, params={"path": "notes.txt"})
        assert text.headers["content-type"] == "application/octet-stream"
        assert text.headers["content-disposition"].startswith("attachment")
        assert client.get(base, params={"path": "missing.txt"}).status_code == 404


def series(client: httpx.Client, run_id: str, **params: Any) -> httpx.Response:
    return client.get(f"/api/v1/runs/{run_id}/metric-series", params={"key": "loss", **params})


def test_metric_series_keeps_each_buckets_extremes(auth_site: AuthSite) -> None:
    headers = {"authorization": f"Bearer {auth_site.viewer}"}
    with httpx.Client(base_url=auth_site.url, headers=headers, timeout=30) as client:
        body = series(client, auth_site.run_id, max_points=200).json()
        assert body["total_points"] == 5000 and body["downsampled"] and not body["truncated"]
        assert len(body["steps"]) <= 200 and body["steps"] == sorted(body["steps"])
        assert body["steps"][0] == 0 and body["steps"][-1] == 4999
        # The values swing over 0..999: each bucket's lowest and highest survive.
        assert min(body["values"]) == 0.0 and max(body["values"]) == 999.0
        assert len(body["steps"]) == len(body["timestamps"]) == len(body["values"])
        zoomed = series(client, auth_site.run_id, min_step=100, max_step=299, max_points=500).json()
        assert zoomed["steps"] == list(range(100, 300)) and not zoomed["downsampled"]
        assert zoomed["values"] == [float((s * 7919) % 1000) for s in range(100, 300)]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"max_points": 1}, 400),
        ({"max_points": 100_001}, 400),
        ({"min_step": 5, "max_step": 4}, 400),
        ({"min_step": 2**63}, 400),
    ],
)
def test_metric_series_refuses_bad_ranges(
    auth_site: AuthSite, params: dict[str, Any], status: int
) -> None:
    headers = {"authorization": f"Bearer {auth_site.viewer}"}
    with httpx.Client(base_url=auth_site.url, headers=headers, timeout=30) as client:
        answer = series(client, auth_site.run_id, **params)
        assert answer.status_code == status, answer.text
        assert answer.json()["error_code"]


def test_metric_series_is_behind_auth_and_hides_unknown_runs(auth_site: AuthSite) -> None:
    with auth_site.client() as anonymous:
        assert series(anonymous, auth_site.run_id).status_code == 401
    with auth_site.client(auth_site.viewer) as viewer:
        assert series(viewer, "0" * 32).status_code == 404
        empty = viewer.get(
            f"/api/v1/runs/{auth_site.run_id}/metric-series", params={"key": "none"}
        ).json()
        assert empty["steps"] == [] and empty["total_points"] == 0


def test_building_the_app_loads_no_template_engine(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from windlass.server.app import create_app\n"
        "from windlass.tracking.backend import open_tracking\n"
        f"create_app(open_tracking('sqlite:///{tmp_path / 'x.db'}', '{tmp_path / 'a'}'))\n"
        "assert 'jinja2' not in sys.modules, 'jinja2 imported at app build'\n"
        "assert 'markdown_it' not in sys.modules, 'markdown_it imported at app build'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_sign_in_posted_by_another_site_is_refused(auth_site: AuthSite) -> None:
    with auth_site.client() as client:
        answer = client.post(
            "/login", data={"token": auth_site.admin}, headers={"sec-fetch-site": "cross-site"}
        )
        assert answer.status_code == 403 and "set-cookie" not in answer.headers
        out = client.post("/logout", headers={"sec-fetch-site": "same-site"})
        assert out.status_code == 403


def test_json_csv_and_parquet_previews_are_escaped_tables_and_text(sqlite_site: Site) -> None:
    run = sqlite_site.runs["xss0"]
    with httpx.Client(base_url=sqlite_site.url, timeout=30) as client:
        json_page = client.get(f"/runs/{run}", params={"artifact": "data.json"}).text
        assert "&#34;x&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in json_page
        parquet = client.get(f"/runs/{run}", params={"artifact": "head.parquet"}).text
        preview = parquet[parquet.index("data-artifact-preview") :]
        assert '<th scope="col">n</th>' in preview and '<th scope="col">text</th>' in preview
        assert preview.count("<tr>") == 1 + 50  # the header and a head of 50 rows
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview and "<script>alert" not in preview
        assert "Showing the head of the file" in preview
        csv_page = client.get(f"/runs/{run}", params={"artifact": "table.csv"}).text
        assert "<td>{{7*7}}</td>" in csv_page and "<td>49</td>" not in csv_page
        missing = client.get(f"/runs/{run}", params={"artifact": "nope.txt"})
        assert missing.status_code == 200 and "no artifact" in missing.text.lower()


def test_runs_pages_follow_the_keyset_to_every_run_once(sqlite_site: Site) -> None:
    seen: list[str] = []
    url: str | None = "/projects/demo/runs?size=2&sort=name&dir=asc"
    with httpx.Client(base_url=sqlite_site.url, timeout=30) as client:
        for _ in range(10):
            if url is None:
                break
            html = client.get(url).text
            seen += re.findall(r'<tr data-run-id="([0-9a-f]{32})">', html)
            found = re.search(r'<a href="(\?[^"]*page_token=[^"]+)" rel="next"', html)
            url = (
                None
                if found is None
                else "/projects/demo/runs" + found.group(1).replace("&amp;", "&")
            )
    assert len(seen) == len(set(seen)) == len(sqlite_site.runs)
    assert set(seen) == set(sqlite_site.runs.values())


def test_compare_needs_two_to_ten_readable_runs(sqlite_site: Site) -> None:
    runs = list(sqlite_site.runs.values())
    with httpx.Client(base_url=sqlite_site.url, timeout=30) as client:
        one = client.get("/compare", params={"run": runs[:1]})
        assert one.status_code == 400 and "choose 2 to 10 runs" in one.text
        eleven = client.get("/compare", params={"run": [*runs, *(f"{i:032x}" for i in range(6))]})
        assert eleven.status_code == 400
        missing = client.get("/compare", params={"run": [runs[0], "f" * 32]})
        assert missing.status_code == 404 and "RUN_NOT_FOUND" in missing.text
        both = client.get("/compare", params={"run": runs[:2]})
        assert both.status_code == 200 and both.text.count('data-series data-runs="') == 2
