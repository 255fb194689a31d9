"""The pages in Chromium: every page loads cleanly, and the main flows work by clicks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ui_world import XSS, AuthSite, Site, Watch

pytestmark = pytest.mark.timeout(120)


def test_projects_page_lists_projects_and_switches(sqlite_site: Site, page: Any) -> None:
    page.goto(sqlite_site.url + "/")
    assert page.url.endswith("/projects")
    assert page.get_by_role("link", name="demo", exact=True).is_visible()
    page.select_option("#project-switch", "other")
    page.wait_for_url(re.compile(r"/projects/other/runs$"))
    assert page.get_by_role("link", name="elsewhere").is_visible()


def test_theme_toggle_is_remembered(sqlite_site: Site, page: Any) -> None:
    page.emulate_media(color_scheme="light")
    page.goto(sqlite_site.url + "/projects")
    page.get_by_role("button", name=re.compile("theme", re.I)).click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    assert background != "rgb(255, 255, 255)"


def test_runs_table_shows_user_strings_as_text(any_site: Site, page: Any) -> None:
    page.goto(f"{any_site.url}/projects/demo/runs")
    rows = page.locator("table.runs tbody tr")
    assert rows.count() == 2 + len(XSS)
    for text in XSS:
        assert page.get_by_role("link", name=text, exact=True).count() == 1
    assert page.locator("img[src='x']").count() == 0
    assert "49" not in page.locator("table.runs").inner_text().split()


def test_filter_sort_and_choose_a_column_by_clicks(sqlite_site: Site, page: Any) -> None:
    page.goto(f"{sqlite_site.url}/projects/demo/runs")
    page.fill("#filter", "params.lr = '0.1'")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"filter="))
    assert page.locator("table.runs tbody tr").count() == 1
    assert page.get_by_role("link", name="baseline").is_visible()
    # A bad filter: the parse error, with a caret under its position.
    page.fill("#filter", "metrics.loss <")
    page.keyboard.press("Enter")
    error = page.locator("[data-filter-error]")
    error.wait_for()
    assert "position 14" in error.inner_text()
    assert page.locator("[data-filter-error] .caret").inner_text() == " " * 14 + "^"
    # Sort by a metric column, ascending then descending.
    page.goto(f"{sqlite_site.url}/projects/demo/runs")
    page.locator("th a[data-sort='metrics.acc']").click()
    page.wait_for_url(re.compile(r"sort=metrics.acc&dir=desc"))
    page.locator("th[aria-sort='descending'] a[data-sort='metrics.acc']").wait_for()
    first = page.locator("table.runs tbody tr").first.locator("a.row-link").inner_text()
    page.locator("th a[data-sort='metrics.acc']").click()
    page.wait_for_url(re.compile(r"sort=metrics.acc&dir=asc"))
    page.locator("th[aria-sort='ascending'] a[data-sort='metrics.acc']").wait_for()
    again = page.locator("table.runs tbody tr").first.locator("a.row-link").inner_text()
    assert (first, again) == ("tuned", "baseline")
    # Choose a column: the tag 'team' joins the table and the URL.
    page.locator("details.columns summary").click()
    page.get_by_label("team").check()
    page.get_by_role("button", name="Show columns").click()
    page.wait_for_url(re.compile(r"col=tags.team"))
    assert page.locator("th a[data-sort='tags.team']").is_visible()
    assert page.locator("table.runs td", has_text="vision").count() == 2


def test_open_a_run_and_zoom_its_chart(any_site: Site, page: Any) -> None:
    page.goto(f"{any_site.url}/projects/demo/runs")
    page.get_by_role("link", name="baseline", exact=True).click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]{32}$"))
    assert page.locator("h1.run-name").inner_text() == "baseline"
    assert page.locator("table.params").inner_text().count("lr") == 1
    chart = page.locator("[data-series][data-key='loss']")
    chart.locator("canvas").wait_for()
    page.locator("[data-series][data-key='loss'][data-resolution]").wait_for()
    assert chart.get_attribute("data-resolution") == "downsampled"
    box = chart.locator(".u-over").bounding_box()
    with page.expect_response(re.compile(r"metric-series\?.*min_step=")) as zoomed:
        page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
    assert zoomed.value.ok
    page.locator("[data-series][data-key='loss'][data-resolution='full']").wait_for()
    # Log scale, smoothing and the time axis redraw without errors.
    page.get_by_label("Log scale").check()
    page.locator("[data-smoothing]").fill("0.6")
    page.locator("[data-x-axis]").select_option("time")
    assert chart.locator("canvas").count() == 1


def test_compare_two_runs(sqlite_site: Site, page: Any) -> None:
    page.goto(f"{sqlite_site.url}/projects/demo/runs")
    page.get_by_label("Select run baseline").check()
    page.get_by_label("Select run tuned").check()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_url(re.compile(r"/compare\?run="))
    diff = page.locator("table.diff")
    assert "lr" in diff.inner_text() and "0.01" in diff.inner_text()
    assert page.locator("table.diff tr[data-differs]").count() >= 3  # lr, depth, acc
    page.locator("[data-series][data-key='loss'] canvas").first.wait_for()
    assert page.locator("canvas.parcoords").is_visible()
    painted = page.evaluate(
        """() => { const c = document.querySelector('canvas.parcoords');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) n++; } return n; }"""
    )
    assert painted > 500


@pytest.mark.parametrize("index", range(len(XSS)))
def test_xss_corpus_never_runs_on_run_pages(
    sqlite_site: Site, page: Any, watch: Watch, index: int
) -> None:
    # The sandboxed HTML artifact's own script is blocked by the sandbox: Chromium says so.
    watch.allow(r"Blocked script execution in .* sandboxed")
    # ... and its <img src=x onerror=...> by the policy it is served with (img-src data:).
    watch.allow(r"/runs/[0-9a-f]{32}/x'? (violates|\(csp\))")
    run_id = sqlite_site.runs[f"xss{index}"]
    text = XSS[index]
    page.goto(f"{sqlite_site.url}/runs/{run_id}")
    assert page.locator("h1.run-name").inner_text() == text
    assert text in page.locator("table.params").inner_text()
    assert text in page.locator("table.tags").inner_text()
    for name in ("notes.md", "report.html", "table.csv", "data.json", "plot.png"):
        page.goto(f"{sqlite_site.url}/runs/{run_id}?artifact={name}")
        page.locator("[data-artifact-preview]").wait_for()
    page.goto(f"{sqlite_site.url}/runs/{run_id}?artifact=notes.md")
    rendered = page.locator(".markdown")
    assert "<script>alert(1)</script>" in rendered.inner_text()
    assert rendered.locator("script, img, a[href^='javascript']").count() == 0
    page.goto(f"{sqlite_site.url}/runs/{run_id}?artifact=report.html")
    frame = page.locator("iframe[sandbox='']")
    assert frame.get_attribute("sandbox") == ""
    page.goto(f"{sqlite_site.url}/runs/{run_id}?artifact=table.csv")
    assert "{{7*7}}" in page.locator("[data-artifact-preview] table").inner_text()
    assert page.locator("table.artifacts").get_by_text(text.replace("/", "_")).count() >= 1


def test_keyboard_reaches_the_filter_and_the_runs(sqlite_site: Site, page: Any) -> None:
    page.goto(f"{sqlite_site.url}/projects/demo/runs?sort=name&dir=asc")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "filter"
    page.keyboard.press("Escape")
    page.locator("h1").click()
    page.keyboard.press("j")
    page.keyboard.press("j")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == page.locator("a.row-link").nth(1).inner_text()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # keyboard focus is visible
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]{32}$"))


def test_pages_read_with_javascript_off(sqlite_site: Site, browser: Any) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    try:
        page = context.new_page()
        page.goto(f"{sqlite_site.url}/projects/demo/runs?filter=params.lr+%3D+%270.01%27")
        assert page.locator("table.runs tbody tr").count() == 1
        page.get_by_role("link", name="tuned").click()
        assert "0.01" in page.locator("table.params").inner_text()
        assert "loss" in page.locator("table.metrics").inner_text()
        # The project switcher works as a plain form.
        page.select_option("#project-switch", "other")
        page.get_by_role("button", name="Go").click()
        page.wait_for_url(re.compile(r"/projects/other/runs$"))
        # The page still fits 1280 px: no horizontal scrolling of the whole page.
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    finally:
        context.close()


def test_sign_in_delete_restore_and_sign_out(auth_site: AuthSite, page: Any) -> None:
    page.goto(f"{auth_site.url}/runs/{auth_site.run_id}")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#token", auth_site.admin)
    page.get_by_role("button", name="Sign in with a token").click()
    page.wait_for_url(re.compile(rf"/runs/{auth_site.run_id}$"))
    assert page.locator(".user").inner_text() == "root"
    # Delete asks first, then calls the REST API with the CSRF header; restore undoes it.
    page.get_by_role("button", name="Delete run").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm: delete this run").click()
    assert "(deleted)" in page.locator("[data-status]").inner_text()
    page.get_by_role("button", name="Restore run").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm: restore this run").click()
    assert "(deleted)" not in page.locator("[data-status]").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(f"{auth_site.url}/projects")
    page.wait_for_url(re.compile(r"/login\?next="))


def test_viewer_signs_in_and_sees_no_controls(auth_site: AuthSite, page: Any) -> None:
    page.goto(f"{auth_site.url}/login?next=/runs/{auth_site.run_id}")
    page.fill("#token", auth_site.viewer)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/runs/{auth_site.run_id}$"))
    assert page.locator(".user").inner_text() == "val"
    assert page.locator("[data-run-actions]").count() == 0
    page.locator("[data-series][data-key='loss'] canvas").wait_for()


def test_filtering_swaps_the_table_in_place_and_back_restores_it(
    sqlite_site: Site, page: Any
) -> None:
    page.goto(f"{sqlite_site.url}/projects/demo/runs")
    page.evaluate("window.__samePage = true")
    page.fill("#filter", "params.depth = '6'")
    page.keyboard.press("Enter")
    page.locator("main:not([aria-busy]) input#filter[value^='params.depth']").wait_for()
    assert page.locator("table.runs tbody tr").count() == 1
    assert page.evaluate("window.__samePage === true")  # no page load: only <main> changed
    assert page.evaluate("document.activeElement.id") == "filter"  # focus stays in the filter
    page.go_back()
    page.locator("main:not([aria-busy]) input#filter[value='']").wait_for()
    assert page.locator("table.runs tbody tr").count() == 2 + len(XSS)
