"""The registry pages and their REST routes over HTTP (no browser): content, roles, limits."""

from __future__ import annotations

import re

import httpx
import pytest
from registry_world import LOGGED, RegistrySite

from windlass.server.deps import SESSION_COOKIE
from windlass.server.security_headers import DEFAULT_CSP
from windlass.server.ui.prompts import side_by_side

PAGES = (
    "/projects/demo/models",
    "/projects/demo/models/clf",
    "/projects/demo/deployments",
    "/projects/demo/deployments/clf-prod",
    "/projects/demo/prompts",
    "/projects/demo/prompts/greet?old=1&new=3",
)
RENDER = "/api/v1/projects/demo/prompts/greet/render"
TRAFFIC = "/api/v1/projects/demo/deployments/clf-prod/traffic"


def client(site: RegistrySite, token: str | None = None) -> httpx.Client:
    """Return a client of ``site``, signed in through the session cookie with ``token``."""
    cookies = {SESSION_COOKIE: token} if token else None
    return httpx.Client(base_url=site.url, cookies=cookies, timeout=30)


def test_pages_escape_every_user_string_and_carry_the_policy(registry_site: RegistrySite) -> None:
    with client(registry_site) as http:
        for path in PAGES:
            answer = http.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["content-security-policy"] == DEFAULT_CSP
            html = answer.text
            assert "<script>alert(1)" not in html and "<img src=x" not in html, path
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
            assert not re.search(r"<[^>]*\s(on[a-z]+|style)=", html), path  # in a tag
            assert 'href="javascript:' not in html, path
        model = http.get("/projects/demo/models/clf").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in model  # tag, card
        assert "{{7*7}}" in model and "49" not in re.sub(r"\d{2,}", "", model).split()


def test_model_page_shows_versions_aliases_history_card_and_lineage(
    registry_site: RegistrySite,
) -> None:
    with client(registry_site) as http:
        html = http.get("/projects/demo/models/clf?version=1").text
    assert 'data-version="1"' in html
    assert f'href="/runs/{registry_site.run_id}"' in html
    history = html.split("data-alias-history", 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<td>(champion|staging)</td><td>(—|v\d)</td><td>(v\d)</td>", history) == [
        ("staging", "—", "v1"),
        ("champion", "v1", "v2"),
        ("champion", "—", "v1"),
    ]
    assert "<h1>clf</h1>" in html  # the card's Markdown, rendered
    lineage = html.split("data-lineage", 1)[1].split("</svg>", 1)[0]
    # v1 is served by clf-prod's champion (models:/clf/1); v2 through the alias and shadow.
    assert "features (training)" in lineage and "clf v1" in lineage
    assert 'href="/projects/demo/deployments/clf-prod"' in lineage
    with client(registry_site) as http:
        page = http.get("/projects/demo/deployments/clf-prod").text
    # Each variant's model URI links to the model page (a version's, or the model's for @alias).
    assert '<a href="/projects/demo/models/clf?version=1"><code>models:/clf/1</code></a>' in page
    assert '<a href="/projects/demo/models/clf"><code>models:/clf@champion</code></a>' in page
    assert '<a href="/projects/demo/models/clf?version=2"><code>models:/clf/2</code></a>' in page


def test_prompt_diff_is_side_by_side_and_escaped(registry_site: RegistrySite) -> None:
    rows = side_by_side(["[template]", "a", "b"], ["[template]", "a", "c", "d"])
    assert [(r.change, r.old_text, r.new_text) for r in rows] == [
        ("equal", "[template]", "[template]"),
        ("equal", "a", "a"),
        ("replace", "b", "c"),
        ("replace", "", "d"),
    ]
    with client(registry_site) as http:
        html = http.get("/projects/demo/prompts/greet?old=1&new=2").text
    diff = html.split("data-diff", 1)[1].split("</table>", 1)[0]
    assert '<tr class="diff-replace">' in diff
    assert "Hello {{ name }}!" in diff and "Hi {{ name }}! &lt;script&gt;" in diff
    with client(registry_site) as http:
        missing = http.get("/projects/demo/prompts/greet?old=1&new=9")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


def test_render_route_renders_text_and_chat_and_refuses_bad_input(
    registry_site: RegistrySite,
) -> None:
    with client(registry_site) as http:
        text = http.post(RENDER, json={"version": 1, "variables": {"name": "<b>Ann</b>"}})
        assert text.status_code == 200
        assert text.json() == {
            "name": "greet",
            "version": 1,
            "kind": "text",
            "text": "Hello <b>Ann</b>!\nBe brief.",
            "messages": None,
        }
        chat = http.post(RENDER, json={"alias": "prod", "variables": {"name": "A", "lang": "fr"}})
        assert chat.status_code == 200 and chat.json()["version"] == 3
        assert chat.json()["messages"][1] == {"role": "user", "content": "Greet A in fr."}
        missing = http.post(RENDER, json={"variables": {"name": "A"}})
        assert missing.status_code == 400 and "lang" in missing.json()["message"]
        both = http.post(RENDER, json={"version": 1, "alias": "prod"})
        assert both.status_code == 400
        assert http.post(RENDER, json={"version": 0}).status_code == 400
        assert http.post(RENDER, json={"nope": 1}).status_code == 400
        unknown = http.post("/api/v1/projects/demo/prompts/nothing/render", json={})
        assert unknown.status_code == 404


def test_traffic_route_counts_requests_and_latency_per_variant(
    registry_site: RegistrySite,
) -> None:
    with client(registry_site) as http:
        answer = http.get(TRAFFIC, params={"minutes": 60, "buckets": 12})
        assert answer.status_code == 200
        body = answer.json()
        assert len(body["times"]) == 12 and body["truncated"] is False
        by_name = {v["variant"]: v for v in body["variants"]}
        assert {k: sum(v["requests"]) for k, v in by_name.items()} == {
            **LOGGED,
            "candidate": LOGGED["champion"],
        }
        assert by_name["candidate"]["shadow"] is True
        latency = [x for x in by_name["challenger"]["mean_latency_ms"] if x is not None]
        assert latency == [pytest.approx(sum(2.0 + i for i in range(10)) / 10)]
        assert [x for x in by_name["challenger"]["p95_latency_ms"] if x is not None] == [11.0]
        assert http.get(TRAFFIC, params={"buckets": 0}).status_code == 400
        assert http.get(TRAFFIC, params={"minutes": 10**9}).status_code == 400
        gone = http.get("/api/v1/projects/demo/deployments/nothing/traffic")
        assert gone.status_code == 404


def test_controls_render_only_for_admins_and_the_routes_check_again(
    registry_auth_site: RegistrySite,
) -> None:
    site = registry_auth_site
    page = "/projects/demo/deployments/clf-prod"
    with client(site, site.viewer) as viewer, client(site, site.admin) as admin:
        seen = viewer.get(page)
        assert seen.status_code == 200 and "data-confirm-dialog" not in seen.text
        assert 'data-action="promote"' not in seen.text
        shown = admin.get(page)
        assert 'data-action="promote"' in shown.text and "data-confirm-dialog" in shown.text
        for path in PAGES:
            assert viewer.get(path).status_code == 200, path
        csrf = {"x-windlass-csrf": "1"}
        api = "/api/v1/projects/demo/deployments/clf-prod"
        refused = viewer.post(f"{api}/promote", json={"variant": "challenger"}, headers=csrf)
        assert refused.status_code == 403
        # A viewer may read: render a preview (a POST: the cookie needs the CSRF header).
        preview = {"version": 1, "variables": {"name": "x"}}
        assert viewer.post(RENDER, json=preview).status_code == 403
        assert viewer.post(RENDER, json=preview, headers=csrf).status_code == 200
        assert viewer.get(TRAFFIC).status_code == 200
    with client(site) as anonymous:
        assert anonymous.post(RENDER, json={"version": 1}).status_code == 401
        assert anonymous.get(TRAFFIC).status_code == 401
        assert anonymous.get(PAGES[1]).status_code == 303
