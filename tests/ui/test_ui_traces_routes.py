"""The trace pages over HTTP (no browser): roles, redirects, the span route, escaping."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from trace_world import hex_id, span, traced
from ui_world import XSS, AuthSite, Site


def _pages(ids: dict[str, str]) -> list[str]:
    return [
        "/projects/demo/traces",
        "/projects/demo/traces/costs",
        f"/projects/demo/traces/{ids['turn1']}",
        "/projects/demo/sessions/s-1",
    ]


def test_anonymous_is_sent_to_sign_in_and_a_viewer_reads_every_trace_page(
    auth_site: AuthSite,
) -> None:
    ids = traced(auth_site.url, token=auth_site.admin)
    with auth_site.client() as anonymous, auth_site.client(auth_site.viewer) as viewer:
        for path in _pages(ids):
            answer = anonymous.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=")
            seen = viewer.get(path)
            assert seen.status_code == 200, path
            assert 'aria-current="page">Traces</a>' in seen.text
        assert "greeter/2" in viewer.get("/projects/demo/traces").text
        assert viewer.get("/projects/nowhere/traces").status_code == 404


def test_the_span_route_returns_one_span_behind_the_read_permission(auth_site: AuthSite) -> None:
    ids = traced(auth_site.url, token=auth_site.admin)
    headers = {"authorization": f"Bearer {auth_site.viewer}"}
    with httpx.Client(base_url=auth_site.url, headers=headers, timeout=30) as viewer:
        spans = viewer.get(f"/api/v1/projects/demo/traces/{ids['turn1']}").json()["spans"]
        tool = next(s for s in spans if s["kind"] == "tool")
        path = f"/api/v1/projects/demo/traces/{ids['turn1']}/spans/{tool['span_id'].upper()}"
        answer = viewer.get(path)
        assert answer.status_code == 200
        assert answer.json()["name"] == "get_weather"
        assert answer.json()["output"] == '{"temp_c": -3}'
        missing = viewer.get(f"/api/v1/projects/demo/traces/{ids['turn1']}/spans/{'0' * 16}")
        assert missing.status_code == 404 and missing.json()["error_code"] == "TRACE_NOT_FOUND"
        assert viewer.get(path.replace(tool["span_id"].upper(), "xyz")).status_code in (400, 422)
    assert httpx.get(auth_site.url + path, timeout=30).status_code == 401


def test_trace_pages_print_user_strings_escaped(sqlite_site: Site) -> None:
    ids = traced(sqlite_site.url)
    with httpx.Client(base_url=sqlite_site.url, timeout=30) as client:
        session = XSS[1]
        for path in (
            "/projects/demo/traces",
            f"/projects/demo/traces/{ids['xss']}",
            "/projects/demo/sessions/" + httpx.URL("x/" + session).raw_path.decode()[2:],
            "/projects/demo/traces/costs",
        ):
            html = client.get(path).text
            assert "<script>alert(1)</script>" not in html, path
            assert "<img src=x onerror=alert(1)>" not in html, path
            # No inline code: scripts come from files or are JSON data blocks.
            for tag in re.findall(r"<script[^>]*>", html):
                assert "src=" in tag or 'type="application/json"' in tag, tag
        conversation = client.get(
            "/projects/demo/sessions/" + httpx.URL("x/" + session).raw_path.decode()[2:]
        ).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in conversation


def test_a_bad_trace_filter_shows_its_caret_and_no_rows(sqlite_site: Site) -> None:
    traced(sqlite_site.url)
    html = httpx.get(
        sqlite_site.url + "/projects/demo/traces", params={"filter": "cost >"}, timeout=30
    ).text
    assert "data-filter-error" in html
    assert re.search(r'<span class="caret"> {6}\^</span>', html), html
    assert "No traces match this filter" in html


def test_a_session_id_with_quotes_and_backslashes_opens(sqlite_site: Site) -> None:
    traced(sqlite_site.url)
    session = "it's a \\'test\\' "
    trace_id = hex_id(32)
    body = {"spans": [span(trace_id, "quoted", 0, 5, session_id=session, input="hello there")]}
    httpx.post(
        f"{sqlite_site.url}/api/v1/projects/demo/spans", json=body, timeout=30
    ).raise_for_status()
    path = "/projects/demo/sessions/" + quote(session, safe="")
    html = httpx.get(sqlite_site.url + path, timeout=30).text
    assert "hello there" in html and trace_id in html


def test_a_cheap_call_shows_its_cost_not_zero() -> None:
    """Costs under a hundredth of a cent keep two significant digits; zero stays zero."""
    from windlass.server.ui.traces import format_cost

    assert format_cost(0.000005) == "$0.000005"
    assert format_cost(0.0000123) == "$0.000012"
    assert format_cost(0.0) == "$0.0000"
    assert format_cost(1e-15) == "< $0.000000000001"
    assert format_cost(0.0123) == "$0.0123"
    assert format_cost(None) == "—"
