"""The models, deployments and prompts pages in Chromium: clean loads and flows by clicks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from registry_world import RegistrySite
from ui_world import Watch

pytestmark = pytest.mark.timeout(120)


def sign_in(page: Any, site: RegistrySite, token: str, target: str) -> None:
    """Sign in with ``token`` through the login page, landing on ``target``."""
    page.goto(f"{site.url}/login?next={target}")
    page.fill("#token", token)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(target) + "$"))


def open_model_and_version(site: RegistrySite, page: Any) -> None:
    """Open the models list, the model, then its first version by clicks; check the page."""
    page.goto(f"{site.url}/projects/demo/runs")
    page.get_by_role("link", name="Models", exact=True).click()
    page.wait_for_url(re.compile(r"/projects/demo/models$"))
    page.get_by_role("link", name="clf", exact=True).click()
    page.wait_for_url(re.compile(r"/models/clf$"))
    page.get_by_role("link", name="v1", exact=True).first.click()
    page.wait_for_url(re.compile(r"/models/clf\?version=1"))
    assert page.locator("#h-version").inner_text() == "Version 1"
    history = page.locator("[data-alias-history] tbody tr")
    assert history.count() == 3
    assert history.first.locator("td").nth(1).inner_text() == "staging"
    assert page.locator("[data-lineage] text", has_text="clf-prod").count() == 1
    card = page.locator("[data-model-card]")
    assert "<script>alert(1)</script>" in card.inner_text()
    assert card.locator("script, img, a[href^='javascript']").count() == 0
    assert page.locator("[data-model-description]").inner_text() == '"><img src=x onerror=alert(1)>'


def diff_two_prompt_versions(site: RegistrySite, page: Any) -> None:
    """Choose two versions of ``greet`` and compare them; the diff shows escaped lines."""
    page.goto(f"{site.url}/projects/demo/prompts")
    page.get_by_role("link", name="greet", exact=True).click()
    page.wait_for_url(re.compile(r"/prompts/greet$"))
    page.get_by_label("Old: v1").check()
    page.get_by_label("New: v2").check()
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r"new=2&old=1"))
    diff = page.locator("[data-diff]")
    changed = diff.locator("tr.diff-replace")
    assert changed.count() == 1
    assert changed.locator("td.old").inner_text() == "Hello {{ name }}!"
    assert changed.locator("td.new").inner_text() == "Hi {{ name }}! <script>alert(1)</script>"


def test_open_a_model_and_its_version_and_see_alias_history(
    registry_site: RegistrySite, page: Any
) -> None:
    open_model_and_version(registry_site, page)


def test_diff_two_prompt_versions(registry_site: RegistrySite, page: Any) -> None:
    diff_two_prompt_versions(registry_site, page)


def test_models_page_and_prompt_diff_on_postgresql(
    registry_postgres_site: RegistrySite, page: Any
) -> None:
    open_model_and_version(registry_postgres_site, page)
    diff_two_prompt_versions(registry_postgres_site, page)


def test_render_a_prompt_preview(registry_site: RegistrySite, page: Any, watch: Watch) -> None:
    # The missing-variable render below is answered 400, as it should be.
    watch.allow(r"^400 for .*/prompts/greet/render$")
    watch.allow(r"status of 400 \(Bad Request\)")
    page.goto(f"{registry_site.url}/projects/demo/prompts/greet?version=3")
    page.locator("textarea[data-variable='name']").fill("<img src=x onerror=alert(1)>")
    page.locator("textarea[data-variable='lang']").fill("French")
    page.get_by_role("button", name="Render").click()
    rendered = page.locator("[data-rendered]")
    rendered.nth(1).wait_for()
    assert rendered.nth(1).inner_text() == "Greet <img src=x onerror=alert(1)> in French."
    assert rendered.nth(0).inner_text() == 'You are kind. "><img src=x onerror=alert(1)>'
    assert page.locator("[data-render-result] img").count() == 0
    # A missing variable: the REST API's message, shown as text.
    page.locator("textarea[data-variable='lang']").fill("")
    page.get_by_role("button", name="Render").click()
    page.locator("[data-render-result]", has_text="missing variable 'lang'").wait_for()


def test_deployment_page_draws_traffic_and_lists_revisions(
    registry_site: RegistrySite, page: Any
) -> None:
    page.goto(f"{registry_site.url}/projects/demo/deployments")
    page.get_by_role("link", name="clf-prod", exact=True).click()
    page.wait_for_url(re.compile(r"/deployments/clf-prod$"))
    page.locator("[data-traffic-chart='rate'][data-drawn] canvas").wait_for()
    assert page.locator("[data-traffic]").get_attribute("data-total") == "70"
    legend = page.locator("[data-traffic-chart='p95'] .u-legend").inner_text()
    assert "challenger" in legend and "candidate (shadow)" in legend
    assert page.locator("table.revisions tbody tr").count() >= 1
    assert page.locator(".description").inner_text() == "<script>alert(1)</script>"
    # Auth is off: everything is allowed, so the controls show.
    assert page.get_by_role("button", name="Promote challenger").is_visible()


def test_promote_as_admin_with_confirmation_then_roll_back(
    registry_auth_site: RegistrySite, page: Any
) -> None:
    target = "/projects/demo/deployments/clf-prod"
    sign_in(page, registry_auth_site, registry_auth_site.admin, target)
    revision = int(page.locator("[data-revision]").inner_text())
    page.get_by_role("button", name="Promote challenger").click()
    dialog = page.locator("[data-confirm-dialog]")
    assert dialog.is_visible() and "challenger" in dialog.inner_text()
    page.get_by_role("button", name="Cancel").click()
    assert not dialog.is_visible()
    assert int(page.locator("[data-revision]").inner_text()) == revision
    page.get_by_role("button", name="Promote challenger").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()
    assert int(page.locator("[data-revision]").inner_text()) == revision + 1
    assert page.get_by_label("Weight of challenger").input_value() == "100.0"
    first_event = page.locator("table.revisions tbody tr").first
    assert "promote" in first_event.inner_text() and "root" in first_event.inner_text()
    page.get_by_role("button", name="Roll back to the previous revision").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()
    assert int(page.locator("[data-revision]").inner_text()) == revision + 2
    assert page.get_by_label("Weight of champion").input_value() == "90.0"


def test_viewer_sees_no_deployment_controls(registry_auth_site: RegistrySite, page: Any) -> None:
    target = "/projects/demo/deployments/clf-prod"
    sign_in(page, registry_auth_site, registry_auth_site.viewer, target)
    assert page.locator(".user").inner_text() == "val"
    page.locator("[data-traffic-chart='rate'][data-drawn]").wait_for()
    assert page.get_by_role("button", name=re.compile("Promote|Roll back|Set weights")).count() == 0
    assert page.locator("[data-confirm-dialog], input[data-weight]").count() == 0
