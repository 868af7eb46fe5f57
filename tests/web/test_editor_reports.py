"""The report page for editors: who may see it, the Demodata banner, bad input, and "opened" tracking."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import insert, select

from tests.web.conftest import PASSWORD, PUBLIC_ARTICLE, login
from web.events import get_store, tables

MONTH = "2026-10"   # the last full month before the fixed test date (23 November 2026)


@pytest.fixture
def editor_client(app, client):
    """A client logged in as an editor."""
    from web import accounts

    with app.app_context():
        accounts.create_user("edna", PASSWORD, "editor")
    assert login(client, "edna").status_code == 303
    return client


def _store(app):
    with app.app_context():
        return get_store()


def test_only_editors_and_admins_see_reports(app, client, handler_user):
    for url in ("/redaktion/rapport", "/redaktion/rapport.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/logga-in" in response.headers["Location"]
    login(client)
    assert client.get("/redaktion/rapport").status_code == 403
    assert client.get("/redaktion/rapport.csv").status_code == 403
    from web import accounts

    with app.app_context():
        accounts.create_user("ada", PASSWORD, "admin")
    admin = app.test_client()
    assert login(admin, "ada").status_code == 303
    assert admin.get("/redaktion/rapport").status_code == 200


def test_report_page_defaults_to_last_month_and_lists_offices(editor_client):
    response = editor_client.get("/redaktion/rapport")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<option value="{MONTH}" selected>' in page
    assert "Hela kontaktcentret" in page and '<option value="forskola"' in page
    assert 'href="/redaktion/rapport.csv?month=2026-10"' in page
    assert "Demodata" not in page
    assert 'role="img"' in page and "<title id=" in page        # charts with a text alternative
    assert " style=" not in page                                   # the CSP forbids inline styles
    assert 'href="/redaktion/rapport"' in editor_client.get("/redaktion/").get_data(as_text=True)   # in the menu


def test_demodata_banner_when_the_month_has_demo_events(app, editor_client):
    store = _store(app)
    with store.engine.begin() as conn:
        conn.execute(insert(tables.flags), [{"created_at": dt.datetime(2026, 10, 12, 9), "article_id": "forskola-ko",
                                             "office": "forskola", "kind": "outdated", "reason": "x", "demo": True}])
    page = editor_client.get(f"/redaktion/rapport?office=forskola&month={MONTH}").get_data(as_text=True)
    assert "Demodata" in page and "Förskola" in page
    assert "Demodata" not in editor_client.get("/redaktion/rapport?month=2026-09").get_data(as_text=True)
    csv_text = editor_client.get(f"/redaktion/rapport.csv?office=forskola&month={MONTH}").get_data(as_text=True)
    assert "report,demo,yes" in csv_text and "flags,2026-10-12 forskola-ko,outdated: x" in csv_text


def test_bad_month_or_office_is_a_clear_400(editor_client):
    for query in ("month=2026-13", "month=okt", "office=nope", "office=%00"):
        response = editor_client.get(f"/redaktion/rapport?{query}")
        assert response.status_code == 400, query
        assert 'class="error-message" role="alert"' in response.get_data(as_text=True)
        csv_response = editor_client.get(f"/redaktion/rapport.csv?{query}")
        assert csv_response.status_code == 400 and csv_response.mimetype == "text/plain"


def _opened(app, token):
    store = _store(app)
    store.flush()
    with store.engine.connect() as conn:
        return conn.execute(select(tables.search_events.c.opened_article).where(
            tables.search_events.c.token == token)).scalar_one()


def test_opening_a_resident_result_is_recorded_on_its_search(app, client):
    page = client.get("/sok", query_string={"q": "parkeringstillstånd rörelsehindrad"}).get_data(as_text=True)
    link = re.search(rf'href="(/artikel/{PUBLIC_ARTICLE}\?s=([0-9a-f]{{16}}))"', page)
    assert link, "result links carry the search token"
    assert _opened(app, link.group(2)) is None
    assert client.get(html.unescape(link.group(1))).status_code == 200
    assert _opened(app, link.group(2)) == PUBLIC_ARTICLE
    client.get(f"/artikel/forskola-ko?s={link.group(2)}")          # a second opening keeps the first
    assert _opened(app, link.group(2)) == PUBLIC_ARTICLE
    live = client.get("/sok.json?q=dagis").get_json()["html"]      # as-you-type results carry it too
    assert re.search(r'href="/artikel/[a-z0-9-]+\?s=[0-9a-f]{16}"', live)


def test_opening_a_handler_result_is_recorded(app, handler_client):
    page = handler_client.get("/handlaggare/", query_string={"q": "hot i telefon"}).get_data(as_text=True)
    link = re.search(r'href="(/handlaggare/artikel/([a-z0-9-]+)\?q=[^"&]*&amp;s=([0-9a-f]{16}))"', page)
    assert link
    assert handler_client.get(html.unescape(link.group(1))).status_code == 200
    assert _opened(app, link.group(3)) == link.group(2)


def test_bad_tokens_are_ignored(app, client):
    for token in ("DROP TABLE", "zz" * 8, "a" * 200, ""):
        assert client.get(f"/artikel/{PUBLIC_ARTICLE}", query_string={"s": token}).status_code == 200
    store = _store(app)
    store.flush()
    with store.engine.connect() as conn:
        assert conn.execute(select(tables.search_events.c.id).where(
            tables.search_events.c.opened_article.is_not(None))).first() is None
    assert store.failures == 0
