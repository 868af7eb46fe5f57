"""Browser tests of the knowledge-loop forms in Chromium: resident feedback, handler outcome and flag, with axe."""
from __future__ import annotations

import re

import pytest

from tests.web.conftest import INTERNAL_ARTICLE, PUBLIC_ARTICLE
# The real server, the browser and the checks of tests/web/test_web_browser.py (its skip reasons included).
from tests.web.test_web_browser import axe_violations, browser, log_in, page, pytestmark, server  # noqa: F401

expect = pytest.importorskip("playwright.sync_api").expect


def test_resident_answers_did_you_get_an_answer(page):  # noqa: F811
    page.goto(f"/artikel/{PUBLIC_ARTICLE}")
    feedback = page.locator("#feedback")
    expect(feedback.get_by_role("heading", name="Fick du svar på din fråga?")).to_be_visible()
    assert not axe_violations(page), axe_violations(page)
    feedback.get_by_label(re.compile("Vill du berätta mer")).fill("Tydligt svar, ring mig 070-123 45 67")
    feedback.get_by_role("button", name="Ja").click()
    expect(page).to_have_url(re.compile(r"svar=tack"))
    expect(page.locator("#feedback")).to_contain_text("Tack för att du svarade!")
    expect(page.locator("#feedback").get_by_role("button", name="Ja")).to_have_count(0)


def test_handler_records_an_outcome_and_flags_an_article(browser, server):  # noqa: F811
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    page = context.new_page()  # noqa: F811
    log_in(page)
    page.goto(f"/handlaggare/artikel/{INTERNAL_ARTICLE}?q=hotfull bilist")
    loop = page.locator("#loop")
    assert not axe_violations(page), axe_violations(page)
    loop.get_by_role("button", name="Löst vid första kontakt").click()
    expect(page.locator("#loop")).to_contain_text("Utfallet är registrerat.")
    expect(page).to_have_url(re.compile(r"q=hotfull"))          # the handler's search is kept for "back"
    page.locator("#loop").get_by_label("Hänvisad till").select_option("avfall")
    page.locator("#loop").get_by_role("button", name="Hänvisad", exact=True).click()
    expect(page.locator("#loop")).to_contain_text("Utfallet är registrerat.")
    page.locator("#loop summary").click()
    page.locator("#loop").get_by_label("Inaktuell").check()
    page.locator("#loop").get_by_label(re.compile("Beskriv kort")).fill("Ny rutin sedan oktober")
    page.locator("#loop").get_by_role("button", name="Skicka flaggan").click()
    expect(page.locator("#loop")).to_contain_text("Artikeln är flaggad.")
    page.set_viewport_size({"width": 320, "height": 640})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the handler article scrolls sideways at 320 px by {overflow} px"
    context.close()
