"""Resident pages: start page, answer-first results, the honest no-answer page, articles, areas, languages."""
from __future__ import annotations

import datetime as dt
import re

from kb.hours import STOCKHOLM
from tests.web.conftest import PUBLIC_ARTICLE, app_config, csrf_token


def text(response) -> str:
    return response.get_data(as_text=True)


def test_start_page_has_one_search_box_notices_and_areas(client):
    html = text(client.get("/"))
    assert html.count('type="search"') == 1
    assert 'action="/sok" method="get"' in html.replace("\n      ", " ") or 'method="get" action="/sok"' in html
    assert "Störning i e-tjänsten för parkeringstillstånd" in html          # active public notice
    assert "Hög belastning om fakturor" not in html                          # internal notice
    for area in ("Förskola", "Avfall", "Parkeringstillstånd"):
        assert f">{area}</a>" in html
    assert '<html lang="sv">' in html and 'href="#main"' in html and '<main id="main"' in html
    assert '<label for="q"' in html


def test_confident_results_show_the_best_answer_in_full_first(client):
    html = text(client.get("/sok", query_string={"q": "parkeringstillstånd för rörelsehindrad"}))
    answer = html.index('class="answer"')
    assert "Bästa svaret" in html
    assert "Handläggningen tar ungefär fyra veckor" in html[answer:]       # the whole answer, not a snippet
    assert "Ansök om parkeringstillstånd" in html                          # its e-service link
    assert html.index("Andra svar som kan passa") > answer
    assert "Vi hittade inget säkert svar" not in html
    assert 'class="listen"' in html and 'data-lang="sv-SE"' in html and " hidden " in html


def test_finnish_question_finds_the_article_and_offers_the_translation(client):
    html = text(client.get("/sok", query_string={"q": "miten haen pysäköintilupaa"}))
    assert "Miten haen liikkumisesteisen pysäköintilupaa?" in html
    assert 'href="/artikel/parkeringstillstand-rorelsehindrad"' in html     # the Swedish original offered
    assert 'lang="fi"' in html and 'data-lang="fi-FI"' in html


def test_low_confidence_says_so_and_shows_the_contact_card(client):
    response = client.get("/sok", query_string={"q": "vad kostar en elefant på månen"})
    html = text(response)
    assert response.status_code == 200
    assert "Vi hittade inget säkert svar" in html and "Bästa svaret" not in html
    card = html[html.index('id="contact-card"'):]
    assert "Kontaktcenter Stockholm" in card and 'href="tel:+46850811000"' in card and "08-508 11 000" in card
    assert "Öppet nu, stänger 16.30" in card                                # Monday 10:00 in the fixture clock
    assert "mån–tors" in card or "mån–fre" in card


def test_no_answer_with_an_area_shows_that_office(client):
    html = text(client.get("/sok", query_string={"q": "xyzzy", "office": "parkering"}))
    assert "Vi hittade inget säkert svar" in html
    card = html[html.index('id="contact-card"'):]
    assert "Parkeringstillstånd" in card and "kontaktcenter@stockholm.se" in card


def test_contact_card_knows_closed_hours_and_summer(searcher, built_data_dir, tmp_path):
    from web import create_app

    friday_evening = dt.datetime(2026, 11, 27, 17, 0, tzinfo=STOCKHOLM)
    app = create_app(app_config(searcher, built_data_dir, tmp_path, CLOCK=lambda: friday_evening))
    html = text(app.test_client().get("/omrade/parkering"))
    assert "Stängt nu. Öppnar måndag 08.00" in html
    summer_friday = dt.datetime(2026, 7, 3, 15, 30, tzinfo=STOCKHOLM)
    app = create_app(app_config(searcher, built_data_dir, tmp_path, CLOCK=lambda: summer_friday))
    html = text(app.test_client().get("/omrade/parkering"))
    assert "Stängt nu. Öppnar måndag 08.00" in html and "sommartid" in html and "08.00–15.00" in html


def test_article_page(client):
    response = client.get(f"/artikel/{PUBLIC_ARTICLE}")
    html = text(response)
    assert response.status_code == 200
    assert "<h1" in html and "Hur ansöker jag om parkeringstillstånd för rörelsehindrade?" in html
    assert 'href="https://start.stockholm/e-tjanst/parkeringstillstand"' in html       # e-service
    assert 'href="/artikel/felparkeringsavgift-bestrida"' in html                     # related
    assert 'href="/artikel/parkeringstillstand-rorelsehindrad-fi"' in html             # translation
    assert "Frågor? Kontakta oss" in html and "Öppet nu" in html                      # office card
    assert "Störning i e-tjänsten för parkeringstillstånd" in html                    # the office's notice
    assert 'class="listen"' in html
    assert "kontrollera i systemet Parkera" not in html                              # internal note


def test_translated_article_page_has_its_language(client):
    html = text(client.get("/artikel/parkeringstillstand-rorelsehindrad-fi"))
    assert re.search(r'<article class="article" lang="fi"', html)
    assert 'data-lang="fi-FI"' in html
    assert 'href="/artikel/parkeringstillstand-rorelsehindrad"' in html


def test_internal_expired_unknown_and_malformed_article_ids_are_the_same_404(client):
    pages = [client.get(f"/artikel/{article_id}") for article_id in
             ("rutin-hotfull-bilist", "forskola-avgift", "finns-inte", "..%2F..%2Fetc", "A" * 300)]
    assert {page.status_code for page in pages} == {404}
    # Apart from the form fields that echo the page's own URL and the CSRF token, the pages are identical.
    bodies = {re.sub(r'name="(csrf_token|next)" value="[^"]*"', "", text(page)) for page in pages}
    assert len(bodies) == 1


def test_area_page_lists_public_articles_only(client):
    html = text(client.get("/omrade/parkering"))
    assert "Hur bestrider jag en felparkeringsavgift?" in html
    assert "Rutin när en bilist blir hotfull" not in html
    assert client.get("/omrade/finns-inte").status_code == 404


def test_empty_query_goes_back_to_start(client):
    response = client.get("/sok?q=")
    assert response.status_code == 302 and response.headers["Location"].endswith("/")


def test_over_long_query_is_a_clear_400_page(client):
    response = client.get("/sok", query_string={"q": "förskola " * 100})
    html = text(response)
    assert response.status_code == 400 and "Frågan är för lång" in html and 'role="alert"' in html
    assert 'type="search"' in html                                          # the form is still there


def test_binary_query_is_a_clear_400_page(client):
    for raw in ("q=%FF%FE%00", "q=abc%00def", "q=%C3%28"):
        response = client.get("/sok?" + raw)
        assert response.status_code == 400, raw
        assert "tecken som inte går att läsa" in text(response)


def test_query_is_escaped_when_echoed(client):
    html = text(client.get("/sok", query_string={"q": '<script>alert(1)</script> förskola'}))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_live_results_json_matches_the_page(client):
    body = client.get("/sok.json", query_string={"q": "dagis kö"}).get_json()
    assert body["query"] == "dagis kö" and body["count"] >= 1 and body["low_confidence"] is False
    assert "Hur ställer jag mitt barn i kö till förskola?" in body["html"] and "Bästa svaret" in body["html"]
    assert body["status"]
    bad = client.get("/sok.json", query_string={"q": "x" * 600})
    assert bad.status_code == 400 and bad.get_json()["error"] == "query_too_long"


def test_language_choice_is_remembered_in_a_cookie(client):
    page = text(client.get("/"))
    response = client.post("/sprak", data={"lang": "fi", "next": "/sok?q=dagis", "csrf_token": csrf_token(page)})
    assert response.status_code == 303 and response.headers["Location"] == "/sok?q=dagis"
    cookie = response.headers["Set-Cookie"]
    assert "kb_lang=fi" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    html = text(client.get("/"))
    assert '<html lang="fi">' in html and "Mitä haluat tietää?" in html and "Kirjoita kysymyksesi" in html
    english = client.post("/sprak", data={"lang": "en", "next": "/", "csrf_token": csrf_token(html)})
    assert english.status_code == 303
    assert "What would you like to know?" in text(client.get("/"))


def test_language_switch_needs_csrf_and_refuses_foreign_redirects(client):
    assert client.post("/sprak", data={"lang": "fi"}).status_code == 400
    page = text(client.get("/"))
    response = client.post("/sprak", data={"lang": "fi", "next": "https://evil.example/", "csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/"
    response = client.post("/sprak", data={"lang": "xx", "next": "//evil.example", "csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/" and "kb_lang" not in response.headers.get("Set-Cookie", "")


def test_finnish_contact_card_and_no_answer(client):
    client.set_cookie("kb_lang", "fi")
    html = text(client.get("/sok", query_string={"q": "xyzzy"}))
    assert "Emme löytäneet varmaa vastausta" in html and "Avoinna nyt, sulkeutuu klo 16.30" in html
    assert "ma–to" in html
