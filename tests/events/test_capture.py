"""Capture through the web app: searches, outcomes, feedback, flags, missing answers, and the redaction corpus
through every write path (nothing of it in the database rows or the logs)."""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from tests.events.corpus import TEXTS, sentence
from tests.web.conftest import INTERNAL_ARTICLE, PASSWORD, PUBLIC_ARTICLE, app_config, csrf_token, login
from web.events import tables


@pytest.fixture
def make_app(searcher, built_data_dir, tmp_path):
    """create_app over the fixture index with the event store at `url`."""
    from web import create_app

    def make(url: str | None = None, **extra):
        url = url or f"sqlite:///{tmp_path / 'events.db'}"
        extra.setdefault("KB_RATE_LIMITS", "false")   # the corpus sends more feedback than a resident may
        return create_app(app_config(searcher, built_data_dir, tmp_path, KB_EVENTS_DATABASE_URL=url, **extra))

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def handler(app):
    """A test client logged in as a handler."""
    from web import accounts

    with app.app_context():
        accounts.create_user("hanna", PASSWORD, "handler")
    client = app.test_client()
    assert login(client).status_code == 303
    return client


def store_of(app):
    from web.events import get_store

    with app.app_context():
        return get_store()


def rows(app, table) -> list:
    store = store_of(app)
    store.flush()
    with store.engine.connect() as conn:
        return [row._asdict() for row in conn.execute(select(table).order_by(table.c.id))]


def everything(app) -> str:
    """Every stored row of every table, as one text."""
    return json.dumps({t.name: rows(app, t) for t in tables.TABLES}, default=str, ensure_ascii=False)


def post_form(client, page: str, action: str, data: dict):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data=dict(data, csrf_token=token))


# -- searches ------------------------------------------------------------------------------------------------------

def test_every_search_is_recorded_with_its_channel(app, client, handler):
    assert client.get("/sok", query_string={"q": "parkeringstillstånd"}).status_code == 200
    assert client.get("/sok.json", query_string={"q": "grovsopor"}).status_code == 200
    assert handler.get("/handlaggare/", query_string={"q": "hot i telefon", "office": "parkering"}).status_code == 200
    assert client.get("/api/v1/search", query_string={"q": "dagis kö"}).status_code == 200
    assert client.get("/sok?q=").status_code == 302       # nothing asked, nothing recorded
    events = rows(app, tables.search_events)
    assert [(e["channel"], e["source"]) for e in events] == [
        ("resident", "page"), ("resident", "live"), ("handler", "page"), ("resident", "api")]
    first = events[0]
    assert first["query"] == "parkeringstillstånd" and first["hit_count"] > 0
    assert PUBLIC_ARTICLE in json.loads(first["hit_ids"])
    assert 0 < first["top_confidence"] <= 1 and first["low_confidence"] is False
    assert events[2]["office"] == "parkering"


def test_a_search_without_an_answer_is_marked_low_confidence(app, client):
    client.get("/sok", query_string={"q": "kvantfysik på mars"})
    (event,) = rows(app, tables.search_events)
    assert event["low_confidence"] is True


def test_search_answers_when_the_store_is_unreachable(make_app, caplog):
    app = make_app("postgresql://nobody@127.0.0.1:1/none")
    client = app.test_client()
    response = client.get("/sok", query_string={"q": "parkeringstillstånd 850101-1234"})
    assert response.status_code == 200
    assert client.get("/api/v1/search", query_string={"q": "grovsopor"}).status_code == 200
    store = store_of(app)
    store.flush()
    assert store.failures >= 2
    assert "event store" in caplog.text and "850101" not in caplog.text


def test_feedback_says_so_when_the_store_is_unreachable(make_app):
    client = make_app("postgresql://nobody@127.0.0.1:1/none").test_client()
    page = f"/artikel/{PUBLIC_ARTICLE}"
    response = post_form(client, page, f"{page}/svar", {"helped": "ja"})
    assert response.status_code == 303 and "svar=fel" in response.location
    assert "Det gick inte att spara ditt svar" in client.get(response.location).get_data(as_text=True)


# -- resident feedback ---------------------------------------------------------------------------------------------

def test_feedback_once_per_article_and_session(app, client):
    page = f"/artikel/{PUBLIC_ARTICLE}"
    html = client.get(page).get_data(as_text=True)
    assert "Fick du svar på din fråga?" in html and 'name="helped" value="ja"' in html
    response = post_form(client, page, f"{page}/svar", {"helped": "nej", "comment": "Oklart om avgiften."})
    assert response.status_code == 303
    after = client.get(response.location).get_data(as_text=True)
    assert "Tack för att du svarade!" in after and 'name="helped"' not in after
    post_form(client, page, f"{page}/svar", {"helped": "ja"})   # a second vote from the same session is ignored
    (vote,) = rows(app, tables.feedback)
    assert vote["helped"] is False and vote["comment"] == "Oklart om avgiften."
    assert vote["office"] == "parkering" and len(vote["session_hash"]) == 64
    other = app.test_client()                                    # another browser may vote
    post_form(other, page, f"{page}/svar", {"helped": "ja"})
    assert [v["helped"] for v in rows(app, tables.feedback)] == [False, True]


def test_feedback_comment_is_length_limited(app, client):
    page = f"/artikel/{PUBLIC_ARTICLE}"
    post_form(client, page, f"{page}/svar", {"helped": "ja", "comment": "a" * 5000})
    (vote,) = rows(app, tables.feedback)
    assert len(vote["comment"]) == app.config["KB_FEEDBACK_COMMENT_LENGTH"]


def test_feedback_needs_csrf_and_a_public_article(app, client):
    page = f"/artikel/{PUBLIC_ARTICLE}"
    assert client.post(f"{page}/svar", data={"helped": "ja"}).status_code == 400
    assert post_form(client, page, f"/artikel/{INTERNAL_ARTICLE}/svar", {"helped": "ja"}).status_code == 404
    assert post_form(client, page, f"{page}/svar", {"helped": "kanske"}).status_code == 400
    assert rows(app, tables.feedback) == []


# -- handler outcome, flag, missing answer ------------------------------------------------------------------------

def test_outcome_buttons(app, handler):
    page = f"/handlaggare/artikel/{PUBLIC_ARTICLE}?q=parkering"
    html = handler.get(page).get_data(as_text=True)
    for label in ("Löst vid första kontakt", "Hänvisad", "Ej löst – återkoppling", "Flagga artikel"):
        assert label in html
    action = f"/handlaggare/artikel/{PUBLIC_ARTICLE}/utfall"
    response = post_form(handler, page, action, {"outcome": "solved", "q": "parkering 070-123 45 67"})
    assert response.status_code == 303 and "sparat=utfall" in response.location
    assert "Utfallet är registrerat." in handler.get(response.location).get_data(as_text=True)
    post_form(handler, page, action, {"outcome": "referred", "referred_to": "avfall"})
    post_form(handler, page, action, {"outcome": "callback"})
    missing_office = post_form(handler, page, action, {"outcome": "referred", "referred_to": ""})
    assert "sparat=valj-kontor" in missing_office.location
    found = rows(app, tables.outcomes)
    assert [(o["outcome"], o["referred_to"]) for o in found] == [("solved", None), ("referred", "avfall"),
                                                                  ("callback", None)]
    assert found[0]["office"] == "parkering" and found[0]["query"] == "parkering [telefon]"


def test_outcomes_need_a_login_and_csrf(app, client, handler):
    action = f"/handlaggare/artikel/{PUBLIC_ARTICLE}/utfall"
    assert client.post(action, data={"outcome": "solved"}).status_code in (302, 400)
    assert handler.post(action, data={"outcome": "solved"}).status_code == 400   # no CSRF token
    assert post_form(handler, "/handlaggare/", action, {"outcome": "nonsense"}).status_code == 400
    assert rows(app, tables.outcomes) == []


def test_flag_article(app, handler):
    page = f"/handlaggare/artikel/{INTERNAL_ARTICLE}"
    response = post_form(handler, page, f"{page}/flagga", {"kind": "outdated", "reason": "Ny taxa från 1 jan."})
    assert "sparat=flagga" in response.location
    assert post_form(handler, page, f"{page}/flagga", {"kind": "boring"}).status_code == 400
    (flag,) = rows(app, tables.flags)
    assert (flag["article_id"], flag["office"], flag["kind"], flag["reason"]) == (
        INTERNAL_ARTICLE, "parkering", "outdated", "Ny taxa från 1 jan.")


def test_missing_answer_report(app, handler):
    html = handler.get("/handlaggare/?q=kvantfysik").get_data(as_text=True)
    assert "Saknat svar" in html and 'value="kvantfysik"' in html
    response = post_form(handler, "/handlaggare/", "/handlaggare/saknat-svar",
                         {"question": "Får man ha höns på balkongen?", "note": "Tredje gången i dag",
                          "office": "miljo-does-not-exist"})
    assert response.status_code == 303 and "sparat=saknat" in response.location
    assert "Tack! Frågan finns nu" in handler.get(response.location).get_data(as_text=True)
    empty = post_form(handler, "/handlaggare/", "/handlaggare/saknat-svar", {"question": " "})
    assert "sparat=tom-fraga" in empty.location
    (report,) = rows(app, tables.missing_reports)
    assert report["question"] == "Får man ha höns på balkongen?" and report["office"] is None


# -- the redaction corpus through every write path ----------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_no_personal_data_reaches_the_database_or_the_logs(backend, make_app, tmp_path, request, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"sqlite:///{tmp_path / 'corpus.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    app = make_app(url)
    from web import accounts

    with app.app_context():
        accounts.create_user("hanna", PASSWORD, "handler")
    handler = app.test_client()
    login(handler)
    article = f"/handlaggare/artikel/{PUBLIC_ARTICLE}"
    for text in TEXTS:
        said = sentence(text)
        resident = app.test_client()
        assert resident.get("/sok", query_string={"q": said}).status_code == 200
        assert resident.get("/sok.json", query_string={"q": said}).status_code == 200
        assert resident.get("/api/v1/search", query_string={"q": said}).status_code == 200
        assert handler.get("/handlaggare/", query_string={"q": said}).status_code == 200
        page = f"/artikel/{PUBLIC_ARTICLE}"
        assert post_form(resident, page, f"{page}/svar", {"helped": "nej", "comment": said}).status_code == 303
        assert post_form(handler, article, f"{article}/flagga", {"kind": "wrong", "reason": said}).status_code == 303
        assert post_form(handler, article, f"{article}/utfall", {"outcome": "solved", "q": said}).status_code == 303
        assert post_form(handler, "/handlaggare/", "/handlaggare/saknat-svar",
                         {"question": said, "note": said}).status_code == 303
    stored = everything(app)
    counts = {t.name: len(rows(app, t)) for t in tables.TABLES}
    assert counts == {"search_events": 4 * len(TEXTS), "outcomes": len(TEXTS), "feedback": len(TEXTS),
                      "flags": len(TEXTS), "missing_reports": len(TEXTS)}, counts
    assert store_of(app).failures == 0
    leaks = [text for text in TEXTS if text in stored or text in caplog.text]
    assert not leaks, f"personal data stored or logged: {leaks}"
    assert "vad gäller för parkering" in stored   # the rest of the text is kept
