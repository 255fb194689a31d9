"""The trace pages in Chromium: filter, open a trace, expand a span, a session, costs, XSS."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from trace_world import hex_id, post_big_trace, span, traced
from ui_world import XSS, Site

pytestmark = pytest.mark.timeout(120)


def test_filter_traces_and_a_bad_filter_shows_the_caret(any_site: Site, page: Any) -> None:
    traced(any_site.url)
    page.goto(f"{any_site.url}/projects/demo/traces")
    rows = page.locator("table.traces tbody tr")
    assert rows.count() == 4
    assert page.locator("table.traces td", has_text="greeter/2").count() == 2
    # j moves to a trace: the selection joins the URL, and a reload keeps it.
    page.locator("body").press("j")
    page.locator("body").press("j")
    page.wait_for_url(re.compile(r"selected=[0-9a-f]{32}"))
    second = rows.nth(1).get_attribute("data-trace-id")
    assert f"selected={second}" in page.url
    page.reload()
    assert page.evaluate("document.activeElement.closest('tr').dataset.traceId") == second
    page.fill("#filter", "status = 'error'")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"filter="))
    page.locator("table.traces tbody tr:has-text('summarize')").wait_for()
    assert rows.count() == 1
    assert "rate" not in rows.first.inner_text()  # status message is on the trace page only
    page.fill("#filter", "duration_ms >")
    page.keyboard.press("Enter")
    page.locator("[data-filter-error]").wait_for()
    assert page.locator("[data-filter-error] .caret").inner_text() == " " * 13 + "^"


def test_open_a_trace_collapse_and_expand_a_span_and_see_its_attributes(
    any_site: Site, page: Any
) -> None:
    traced(any_site.url)
    page.goto(f"{any_site.url}/projects/demo/traces?filter=session_id%20%3D%20%27s-1%27")
    page.locator("table.traces a.row-link").first.click()
    page.wait_for_url(re.compile(r"/traces/[0-9a-f]{32}$"))
    page.locator("html[data-trace-ready]").wait_for()
    rows = page.locator("[data-waterfall] .wf-row")
    assert rows.count() == 4
    page.get_by_role("button", name="Collapse agent turn").click()
    assert rows.count() == 1
    page.get_by_role("button", name="Expand agent turn").click()
    assert rows.count() == 4
    page.locator(".wf-row", has_text="get_weather").click()
    detail = page.locator("[data-span-detail]")
    detail.locator("h3", has_text="Tool call").wait_for()
    assert '{"temp_c": -3}' in detail.inner_text()
    page.wait_for_url(re.compile(r"\?span=[0-9a-f]{16}$"))
    page.locator(".wf-row", has_text="chat gpt-4o").first.click()
    detail.locator("h3", has_text="Messages").wait_for()
    asked = re.compile("Weather in Oslo|And tomorrow")  # the list shows the newest first
    assert detail.locator(".bubble.role-user", has_text=asked).count() == 1
    assert detail.locator(".tool-call code", has_text="get_weather").count() == 1
    attributes = detail.locator("table.attrs")
    assert "gen_ai.request.temperature" in attributes.first.inner_text()
    # Keyboard: down to the tool span, Enter opens it.
    page.locator("[data-waterfall]").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    detail.locator("h3", has_text="Tool call").wait_for()


def test_open_a_session_as_a_conversation(sqlite_site: Site, page: Any) -> None:
    traced(sqlite_site.url)
    page.goto(f"{sqlite_site.url}/projects/demo/traces")
    page.get_by_role("link", name="s-1").first.click()
    page.wait_for_url(re.compile(r"/sessions/s-1$"))
    turns = page.locator("section.turn")
    assert turns.count() == 2
    first, second = turns.nth(0).inner_text(), turns.nth(1).inner_text()
    assert "Weather in Oslo?" in first and "It is -3 °C in Oslo." in first
    assert "And tomorrow?" in second and "Colder" in second
    assert "You are helpful" not in first  # only what the turn added
    assert page.locator("section.turn .bubble.role-tool").count() == 2


def test_costs_page_draws_its_charts(sqlite_site: Site, page: Any) -> None:
    traced(sqlite_site.url)
    page.goto(f"{sqlite_site.url}/projects/demo/traces/costs")
    page.locator("html[data-charts='ready']").wait_for()
    assert page.locator("[data-cost-chart] canvas").count() == 6
    assert page.locator("table.breakdown-table td", has_text="gpt-4o").count() == 1
    assert page.locator("table.breakdown-table td", has_text="prompts:/greeter/2").count() == 1


def test_xss_corpus_never_runs_on_trace_pages(sqlite_site: Site, page: Any) -> None:
    ids = traced(sqlite_site.url)
    page.goto(f"{sqlite_site.url}/projects/demo/traces")
    assert page.get_by_role("link", name=XSS[0], exact=True).count() == 1
    page.goto(f"{sqlite_site.url}/projects/demo/traces/{ids['xss']}")
    page.locator("html[data-trace-ready]").wait_for()
    page.locator(".wf-row").first.click()
    detail = page.locator("[data-span-detail]")
    detail.locator("table.attrs").first.wait_for()
    text = detail.inner_text()
    for value in XSS:
        assert value in text
    page.get_by_role("link", name=XSS[1]).click()
    page.wait_for_url(re.compile(r"/sessions/"))
    assert page.locator(".bubble-text", has_text=XSS[0]).count() == 1
    page.goto(f"{sqlite_site.url}/projects/demo/traces/costs")
    page.locator("html[data-charts='ready']").wait_for()
    assert page.locator("img[src='x']").count() == 0


def test_a_trace_of_5000_spans_keeps_few_rows_in_the_page(sqlite_site: Site, page: Any) -> None:
    trace_id = post_big_trace(sqlite_site.url, "demo", 5000)
    page.goto(f"{sqlite_site.url}/projects/demo/traces/{trace_id}")
    page.locator("html[data-trace-ready]").wait_for()
    rows = page.locator("[data-waterfall] .wf-row")
    assert 10 < rows.count() < 200
    page.locator("[data-waterfall]").evaluate("box => { box.scrollTop = box.scrollHeight; }")
    page.locator(".wf-row", has_text="call 4899").wait_for()  # agent 49's last child: the last row
    page.get_by_role("button", name="Collapse all").click()
    expect(rows).to_have_count(1)  # the one root, drawn though the box was scrolled to the end


def test_spans_whose_parents_form_a_cycle_still_show(sqlite_site: Site, page: Any) -> None:
    trace_id, a, b = hex_id(32), hex_id(16), hex_id(16)
    spans = [
        span(trace_id, "first", 0, 10, span_id=a, parent_span_id=b),
        span(trace_id, "second", 1, 5, span_id=b, parent_span_id=a),
        span(trace_id, "orphan", 2, 3, parent_span_id=hex_id(16)),
    ]
    httpx.post(
        f"{sqlite_site.url}/api/v1/projects/demo/spans", json={"spans": spans}, timeout=30
    ).raise_for_status()
    page.goto(f"{sqlite_site.url}/projects/demo/traces/{trace_id}")
    page.locator("html[data-trace-ready]").wait_for()
    assert page.locator("[data-waterfall] .wf-row").count() == 3


def test_trace_pages_read_with_javascript_off(sqlite_site: Site, browser: Any) -> None:
    traced(sqlite_site.url)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    try:
        page = context.new_page()
        page.goto(f"{sqlite_site.url}/projects/demo/traces?filter=user_id+%3D+%27ana%27")
        assert page.locator("table.traces tbody tr").count() == 2
        page.locator("table.traces a.row-link").first.click()
        page.wait_for_url(re.compile(r"/traces/[0-9a-f]{32}$"))
        spans = page.locator("table.spans tbody tr")
        assert spans.count() == 4 and "get_weather" in page.locator("table.spans").inner_text()
        assert page.locator("[data-waterfall]").is_hidden()
        page.get_by_role("link", name="s-1").click()
        assert page.locator("section.turn").count() == 2
        page.goto(f"{sqlite_site.url}/projects/demo/traces/costs")
        assert page.locator("table.breakdown-table").count() == 3
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    finally:
        context.close()
