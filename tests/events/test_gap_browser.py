"""Browser test of the gap-to-draft flow in Chromium: an editor opens Luckor, clicks "Skapa utkast", sees the file."""
from __future__ import annotations

import re
import shutil
import threading

import pytest

from tests.conftest import FIXTURE_CONTENT
from tests.events.test_gaps import seed_three_questions
from tests.web.conftest import PASSWORD, app_config
# The browser and the checks of tests/web/test_web_browser.py (its skip reasons included).
from tests.web.test_web_browser import axe_violations, browser, pytestmark  # noqa: F401

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def editor_server(searcher, built_data_dir, tmp_path_factory):
    """The app on a free loopback port, with an editor account, seeded gap events and a writable content copy."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from web import accounts, create_app

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    work = tmp_path_factory.mktemp("gap-browser")
    content = work / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    app = create_app(app_config(searcher, built_data_dir, work, KB_CONTENT_DIR=str(content)))
    with app.app_context():
        accounts.create_user("erik", PASSWORD, "editor")
    seed_three_questions(app.extensions["kb_events"].engine)
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", content
    httpd.shutdown()
    thread.join(timeout=5)


def test_editor_turns_a_gap_into_a_draft(browser, editor_server):  # noqa: F811
    base_url, content = editor_server
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/redaktion/luckor")
    page.get_by_label("Användarnamn").fill("erik")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page).to_have_url(re.compile(r"/redaktion/luckor$"))

    page.goto("/redaktion/")
    page.get_by_role("navigation", name="Redaktion").get_by_role("link", name="Luckor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Luckor: frågor som saknar svar")
    first = page.locator("section.gap").first
    expect(first.get_by_role("heading", level=3)).to_have_text("bygglov altan")
    expect(first.get_by_label("Område för utkastet")).to_have_value("parkering")
    assert not axe_violations(page), axe_violations(page)
    first.get_by_role("button", name="Skapa utkast").click()

    expect(page).to_have_url(re.compile(r"/redaktion/luckor/utkast/parkering/bygglov-altan$"))
    draft = page.locator("#utkast")
    expect(draft.get_by_role("heading", name="Utkastet är skrivet")).to_be_visible()
    expect(draft).to_contain_text("content/parkering/bygglov-altan.md")
    expect(draft.locator("pre")).to_contain_text("draft: true")
    expect(draft.locator("pre")).to_contain_text("owner: erik")
    assert (content / "parkering" / "bygglov-altan.md").is_file()
    expect(page.locator("section.gap").first).to_contain_text("Utkast finns:")
    assert not axe_violations(page), axe_violations(page)
    page.set_viewport_size({"width": 320, "height": 640})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the gap queue scrolls sideways at 320 px by {overflow} px"
    context.close()
    assert not errors, f"browser console errors: {errors}"
