"""The canary: text that exists only in internal notes, internal articles and internal notices must never
reach a resident, in any page, JSON answer, suggestion, error or page source."""
from __future__ import annotations

import json
import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import CANARY
from tests.web.conftest import INTERNAL_ARTICLE

# Other text that only the internal parts of the fixture corpus contain.
INTERNAL_MARKERS = (CANARY, "anknytning 4411", "kontrollera i systemet Parkera", "Hög belastning om fakturor",
                    "Rutin när en bilist blir hotfull", "läs upp standardsvaret")
# Questions built from the internal text's words, but never containing a marker: a marker in the
# question would be echoed back (escaped) and prove nothing.
QUERIES = ["parkeringstillstånd", "hotfull bilist parkeringsbot", "rutin när någon hotar", "gruppledaren anknytning",
           "systemet parkera ärendet finns", "belastning fakturor", "miten haen pysäköintilupaa", "dagis kö",
           "läsa standardsvar", "kanariefågel", "xyzzy", INTERNAL_ARTICLE]
MAX_PAGES = 400


def test_the_queries_themselves_contain_no_marker():
    assert not [q for q in QUERIES if leaks(q)]


def leaks(body: str) -> list[str]:
    return [marker for marker in INTERNAL_MARKERS if marker.lower() in body.lower()]


def crawl(client) -> dict[str, str]:
    """Every same-site URL reachable from the start page and the result pages, with its body."""
    start = ["/"] + [f"/sok?q={q}" for q in QUERIES]
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        response = client.get(url, follow_redirects=True)
        body = response.get_data(as_text=True)
        seen[url] = body
        if response.mimetype != "text/html":
            continue
        for href in re.findall(r'(?:href|src|action|data-live)="([^"]+)"', body):
            target = urljoin(url, href.replace("&amp;", "&"))
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith(("mailto:", "tel:")):
                continue
            if target.startswith("/sprak"):
                continue   # a POST-only form target
            queue.append(target)
    return seen


@pytest.mark.parametrize("language", ["sv", "fi", "en"])
def test_no_public_page_leaks_internal_content(client, language):
    client.set_cookie("kb_lang", language)
    pages = crawl(client)
    assert len(pages) > 20
    assert any(url.startswith("/artikel/") for url in pages) and any(url.startswith("/omrade/") for url in pages)
    assert any(url.startswith("/static/js/") for url in pages)
    for url, body in pages.items():
        assert not leaks(body), f"{url} leaks {leaks(body)}"


def test_every_article_id_publicly(client, searcher):
    for article_id, article in searcher.snapshot.articles.items():
        for url in (f"/artikel/{article_id}", f"/api/v1/articles/{article_id}"):
            response = client.get(url)
            if article.is_internal:
                assert response.status_code == 404, url
            assert not leaks(response.get_data(as_text=True)), url


def test_public_json_answers_and_suggestions(client):
    for query in QUERIES:
        for url in ("/api/v1/search", "/sok.json"):
            response = client.get(url, query_string={"q": query, "k": 50})
            assert response.status_code == 200
            assert not leaks(response.get_data(as_text=True)), (url, query)
        hits = client.get("/api/v1/search", query_string={"q": query, "k": 50}).get_json()["hits"]
        assert INTERNAL_ARTICLE not in {hit["id"] for hit in hits}
    for url in ("/api/v1/offices", "/api/v1/notices", "/api/v1/openapi.json"):
        assert not leaks(client.get(url).get_data(as_text=True)), url


def test_the_canary_as_a_query_finds_nothing_internal(client):
    """Searching for the canary itself echoes the question (escaped) and nothing else."""
    api = client.get("/api/v1/search", query_string={"q": CANARY}).get_json()
    assert api["query"] == CANARY
    assert not leaks(json.dumps({k: v for k, v in api.items() if k != "query"}, ensure_ascii=False))
    for url in ("/sok", "/sok.json"):
        body = client.get(url, query_string={"q": CANARY}).get_data(as_text=True)
        echoes = [f'value="{CANARY}"', f"”{CANARY}”", f'"query":"{CANARY}"', f'"query": "{CANARY}"']
        for echo in echoes:
            body = body.replace(echo, "")
        assert not leaks(body), url


def test_error_pages_do_not_leak(client):
    for url in (f"/artikel/{INTERNAL_ARTICLE}", f"/api/v1/articles/{INTERNAL_ARTICLE}",
                f"/api/v1/search?q={INTERNAL_ARTICLE}&audience=internal", "/sok?q=%FF",
                f"/handlaggare/artikel/{INTERNAL_ARTICLE}", f"/api/v1/articles/{INTERNAL_ARTICLE}?audience=internal"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code in (200, 400, 401, 404), url
        assert not leaks(response.get_data(as_text=True)), url
