"""The handler workspace: login, search as you type, filters, internal content, referral and review state."""
from __future__ import annotations

import statistics
import time

from tests.conftest import CANARY
from tests.web.conftest import INTERNAL_ARTICLE, PUBLIC_ARTICLE


def text(response) -> str:
    return response.get_data(as_text=True)


def test_workspace_needs_login(client):
    for url in ("/handlaggare/", f"/handlaggare/artikel/{PUBLIC_ARTICLE}", "/handlaggare/?q=hot"):
        response = client.get(url)
        assert response.status_code == 302 and "/logga-in" in response.headers["Location"]
    live = client.get("/handlaggare/sok.json?q=hot")
    assert live.status_code == 401 and live.get_json()["error"] == "unauthorized"


def test_workspace_page_has_search_filters_and_internal_notices(handler_client):
    html = text(handler_client.get("/handlaggare/"))
    assert 'id="q"' in html and 'autofocus' in html
    for name in ("office", "group", "language"):
        assert f'name="{name}"' in html
    assert '<option value="parkering"' in html and '<option value="fi"' in html
    assert "Hög belastning om fakturor" in html                        # internal notice shown to handlers
    assert "workspace.js" in html


def test_internal_only_article_is_found_here(handler_client):
    html = text(handler_client.get("/handlaggare/", query_string={"q": "hotfull bilist"}))
    assert "Rutin när en bilist blir hotfull i samtal om parkeringsbot" in html
    assert "Endast internt" in html
    assert f'href="/handlaggare/artikel/{INTERNAL_ARTICLE}?q=' in html


def test_filters_narrow_the_results(handler_client):
    html = text(handler_client.get("/handlaggare/", query_string={"q": "parkering", "office": "avfall"}))
    assert "Var lämnar jag grovsopor?" in html or "Inga träffar" in html
    assert "parkeringstillstånd för rörelsehindrade" not in html
    finnish = handler_client.get("/handlaggare/sok.json", query_string={"q": "pysäköintilupa", "language": "fi"})
    assert "Miten haen" in finnish.get_json()["html"] and "Hur ansöker jag" not in finnish.get_json()["html"]
    group = handler_client.get("/handlaggare/sok.json", query_string={"q": "tillstånd", "group": "Parkering"})
    assert group.status_code == 200 and "Avfall" not in group.get_json()["html"]


def test_live_search_json_has_copy_text_without_internal_notes(handler_client):
    body = handler_client.get("/handlaggare/sok.json", query_string={"q": "parkeringstillstånd rörelsehindrad"}).get_json()
    assert body["count"] >= 1 and body["took_ms"] > 0
    html = body["html"]
    assert 'data-copy="Hur ansöker jag om parkeringstillstånd för rörelsehindrade?' in html
    first_copy = html.split('data-copy="', 1)[1].split('"', 1)[0]
    assert "läkarintyg" in first_copy and "https://start.stockholm/e-tjanst/parkeringstillstand" in first_copy
    assert CANARY not in first_copy


def test_article_shows_public_answer_internal_notes_referral_and_review(handler_client):
    html = text(handler_client.get(f"/handlaggare/artikel/{PUBLIC_ARTICLE}"))
    assert "Svar till invånaren" in html and "Handläggningen tar ungefär fyra veckor" in html
    notes = html[html.index("Interna anteckningar"):]
    assert "kontrollera i systemet Parkera" in notes
    assert "Frågor om färdtjänst hänvisas till Region Stockholm." in html          # referral text
    assert "Öppet nu, stänger 16.30" in html and 'href="tel:+46850811000"' in html
    assert "Handläggare parkeringstillstånd" in html                               # owner
    assert "Granskas senast 2027-03-01" in html and "Granskning försenad" not in html
    assert 'href="/handlaggare/artikel/felparkeringsavgift-bestrida"' in html       # related, handler view
    assert "Ansök om parkeringstillstånd" in html                                  # e-service link
    assert 'data-copy-text="' in html and 'id="copy-answer"' in html


def test_overdue_review_is_flagged(handler_client):
    html = text(handler_client.get("/handlaggare/artikel/felparkeringsavgift-bestrida"))
    assert "Granskning försenad" in html and "Granskas senast 2025-01-09" in html
    assert "Handläggare felparkering" in html


def test_internal_article_page_for_handlers(handler_client):
    html = text(handler_client.get(f"/handlaggare/artikel/{INTERNAL_ARTICLE}"))
    assert "Endast internt" in html and "anknytning 4411" in html


def test_unknown_and_malformed_ids_are_404(handler_client):
    assert handler_client.get("/handlaggare/artikel/finns-inte").status_code == 404
    assert handler_client.get("/handlaggare/artikel/" + "x" * 500 + "%00").status_code == 404


def test_bad_queries_are_clear_errors(handler_client):
    page = handler_client.get("/handlaggare/", query_string={"q": "a" * 501})
    assert page.status_code == 400 and "Frågan är för lång" in text(page)
    live = handler_client.get("/handlaggare/sok.json?q=%FF")
    assert live.status_code == 400 and live.get_json()["error"] == "unreadable_query"


def test_search_round_trip(handler_client):
    """Round trip of the live search endpoint with the test client: the web layer adds little to the search.

    The total depends on the machine (the query's embedding dominates and is cached per query), so the
    strict bound is on what this layer adds; the totals are printed for the record.
    """
    queries = ["dagis kö", "grovsopor soffa", "bestrida p-lapp", "hotfull bilist", "pysäköintilupa",
               "parkeringstillstånd", "missad hämtning", "öppettider förskola"]
    totals, overheads = [], []
    for query in queries:
        started = time.perf_counter()
        body = handler_client.get("/handlaggare/sok.json", query_string={"q": query}).get_json()
        totals.append((time.perf_counter() - started) * 1000)
        overheads.append(totals[-1] - body["took_ms"])
    repeat = []
    for query in queries:
        started = time.perf_counter()
        handler_client.get("/handlaggare/sok.json", query_string={"q": query})
        repeat.append((time.perf_counter() - started) * 1000)
    print(f"\nhandler live search: first ask median {statistics.median(totals):.0f} ms "
          f"(web layer {statistics.median(overheads):.1f} ms), repeated median {statistics.median(repeat):.0f} ms")
    assert statistics.median(overheads) < 50
    assert statistics.median(repeat) < 200
