"""The editor pages /redaktion/luckor (gap queue, "Skapa utkast") and /redaktion/granskning through the test client."""
from __future__ import annotations

import re

import pytest

from tests.events.test_gaps import seed_three_questions
from tests.web.conftest import PASSWORD, app_config, csrf_token, login

PAGES = ("/redaktion/luckor", "/redaktion/granskning")


@pytest.fixture
def app(searcher, built_data_dir, tmp_path, content_copy):
    """The web app over the fixture index, writing drafts into a copy of the fixture content."""
    from web import accounts, create_app

    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_CONTENT_DIR=str(content_copy)))
    with app.app_context():
        accounts.create_user("erik", PASSWORD, "editor")
        accounts.create_user("hanna", PASSWORD, "handler")
    return app


@pytest.fixture
def store(app):
    """The app's event store."""
    return app.extensions["kb_events"]


@pytest.fixture
def editor(client):
    """A client logged in as an editor."""
    assert login(client, "erik").status_code == 303
    return client


def test_anonymous_visitors_log_in_handlers_are_refused_editors_get_the_pages(app, client):
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302 and "/logga-in" in response.headers["Location"]
    assert login(client, "hanna").status_code == 303
    for page in PAGES:
        assert client.get(page).status_code == 403
    token = csrf_token(client.get("/handlaggare/").get_data(as_text=True))
    refused = client.post("/redaktion/luckor/utkast", data={"csrf_token": token, "group": "x", "office": "avfall"})
    assert refused.status_code == 403
    client.post("/logga-ut", data={"csrf_token": token})
    assert login(client, "erik").status_code == 303
    for page in PAGES:
        assert client.get(page).status_code == 200
    menu = client.get("/redaktion/").get_data(as_text=True)
    assert 'href="/redaktion/luckor"' in menu and 'href="/redaktion/granskning"' in menu


def test_the_queue_lists_groups_and_the_draft_button_writes_the_file(editor, store, content_copy):
    seed_three_questions(store.engine)
    page = editor.get("/redaktion/luckor")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("bygglov altan") < html.index("får hundar vara på lekplatser") < html.index("laddstolpe")
    assert "behöver jag bygglov för altan" in html and "/handlaggare/artikel/" in html
    group = re.search(r'id="grupp-([0-9a-f]{10})"', html).group(1)   # the first (most asked) group
    assert re.search(rf'id="draft-office-{group}" name="office">.*?<option value="parkering" selected',
                     html, re.S), "the office select is pre-filled with the group's office"

    made = editor.post("/redaktion/luckor/utkast", data={"csrf_token": csrf_token(html), "group": group,
                                                         "office": "parkering"})
    assert made.status_code == 303
    assert made.headers["Location"].endswith("/redaktion/luckor/utkast/parkering/bygglov-altan")
    path = content_copy / "parkering" / "bygglov-altan.md"
    text = path.read_text(encoding="utf-8")
    assert "owner: erik" in text and "draft: true" in text and "title: Bygglov altan" in text
    shown = editor.get(made.headers["Location"]).get_data(as_text=True)
    assert "content/parkering/bygglov-altan.md" in shown and "Utkastet är skrivet" in shown
    assert "draft: true" in shown and "ta bort raden draft: true".lower() in shown.lower() and "committa" in shown
    assert "Utkast finns:" in shown                                # no second button for the same group

    again = editor.post("/redaktion/luckor/utkast", data={"csrf_token": csrf_token(html), "group": group,
                                                          "office": "parkering"})
    assert again.status_code == 303 and "fel=exists" in again.headers["Location"]
    assert "Det finns redan en fil" in editor.get(again.headers["Location"]).get_data(as_text=True)
    assert path.read_text(encoding="utf-8") == text
    for data, code in (({"group": group, "office": "../parkering"}, "unknown_office"),
                       ({"group": "0123456789", "office": "avfall"}, "unknown_group")):
        refused = editor.post("/redaktion/luckor/utkast", data={"csrf_token": csrf_token(html), **data})
        assert refused.status_code == 303 and f"fel={code}" in refused.headers["Location"]
    assert editor.post("/redaktion/luckor/utkast", data={"group": group, "office": "avfall"}).status_code == 400
    assert editor.get("/redaktion/luckor/utkast/parkering/finns-inte").status_code == 404
    assert editor.get("/redaktion/luckor/utkast/..%2F..%2Fetc/passwd").status_code == 404


def test_questions_reach_the_queue_redacted_and_filters_work(app, client, store):
    assert login(client, "hanna").status_code == 303
    client.get("/handlaggare/?q=bygglov+altan+ring+070-123+45+67")
    token = csrf_token(client.get("/handlaggare/").get_data(as_text=True))
    client.post("/handlaggare/saknat-svar", data={"csrf_token": token, "question": "bygglov altan 19850101-1234",
                                                  "note": "", "office": "avfall"})
    client.post("/logga-ut", data={"csrf_token": token})
    store.flush()
    assert login(client, "erik").status_code == 303
    html = client.get("/redaktion/luckor").get_data(as_text=True)
    assert "[telefon]" in html and "[personnummer]" in html
    assert "070-123 45 67" not in html and "19850101-1234" not in html
    assert "[personnummer]" in client.get("/redaktion/luckor?office=avfall").get_data(as_text=True)
    assert "Grupper i kön: 0" in client.get("/redaktion/luckor?since=2099-01-01").get_data(as_text=True)
    assert client.get("/redaktion/luckor?since=inte-ett-datum&office=<x>").status_code == 200


def test_the_review_page_lists_overdue_and_expired_articles_per_office_and_owner(editor):
    html = editor.get("/redaktion/granskning").get_data(as_text=True)
    overdue = html.index("Hur bestrider jag en felparkeringsavgift?")
    section = html.rindex("<h2", 0, overdue)
    assert "Parkering" in html[section:overdue] and "Handläggare felparkering" in html[section:overdue]
    row = html[overdue:html.index("</tr>", overdue)]
    assert "Granskning försenad" in row and "2025-01-09" in row   # reviewed 2024-01-10 + 365 days (a leap year)
    assert "/handlaggare/artikel/felparkeringsavgift-bestrida" in html[html.rindex("<tr", 0, overdue):overdue]
    assert "Har slutat gälla" in html and "2020-12-31" in html           # forskola-avgift, valid_until passed
    assert '<th scope="col">' in html
    only = editor.get("/redaktion/granskning?office=forskola").get_data(as_text=True)
    assert "felparkering" not in only and "2020-12-31" in only
    assert editor.get("/redaktion/granskning?dagar=abc&office=nej").status_code == 200


def test_an_unreachable_event_store_gives_a_clear_page_not_a_500(searcher, built_data_dir, tmp_path, content_copy):
    from web import accounts, create_app

    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_CONTENT_DIR=str(content_copy),
                                KB_EVENTS_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"))
    with app.app_context():
        accounts.create_user("erik", PASSWORD, "editor")
    client = app.test_client()
    assert login(client, "erik").status_code == 303
    page = client.get("/redaktion/luckor")
    assert page.status_code == 503 and "Händelselagret går inte att nå just nu" in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    made = client.post("/redaktion/luckor/utkast", data={"csrf_token": token, "group": "0123456789", "office": "avfall"})
    assert made.status_code == 303 and "fel=store" in made.headers["Location"]
    assert client.get("/redaktion/granskning").status_code == 200   # the review list needs no event store
