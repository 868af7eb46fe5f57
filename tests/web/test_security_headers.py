"""Security headers on every response: pages, JSON, errors (400, 404, 405, 413, 429, 500), static files;
HSTS only over HTTPS (directly, by setting, or via X-Forwarded-Proto from a trusted proxy)."""
from __future__ import annotations

import re

import html5lib
import pytest

from tests.web.conftest import INTERNAL_ARTICLE, PUBLIC_ARTICLE, app_config, login

PUBLIC_URLS = ["/", "/sok?q=dagis", "/sok?q=xyzzy", "/sok.json?q=dagis", f"/artikel/{PUBLIC_ARTICLE}",
               "/omrade/parkering", "/logga-in", "/static/css/site.css", "/static/js/live.js", "/static/favicon.svg",
               "/api/v1/search?q=dagis", "/api/v1/offices", "/api/v1/notices", "/api/v1/openapi.json",
               f"/api/v1/articles/{PUBLIC_ARTICLE}",
               # errors
               "/finns-inte", f"/artikel/{INTERNAL_ARTICLE}", "/api/v1/articles/finns-inte", "/sok?q=%FF",
               "/api/v1/search?q=", "/api/v1/search?q=a&k=0", "/api/v1/search?q=a&audience=internal",
               "/handlaggare/", "/handlaggare/sok.json?q=a", "/static/finns-inte.js", "/__boom", "/api/v1/__boom"]
HANDLER_URLS = ["/handlaggare/", "/handlaggare/?q=hot", "/handlaggare/sok.json?q=hot",
                f"/handlaggare/artikel/{INTERNAL_ARTICLE}", "/api/v1/search?q=hot&audience=internal", "/redaktion/"]


@pytest.fixture
def app(searcher, built_data_dir, tmp_path):
    """The app plus two routes that fail unexpectedly (a page and an API answer), for the 500 path."""
    from web import create_app

    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_LIMIT_SEARCH="3 per minute",
                                KB_TRUSTED_PROXIES="10.0.0.1"))

    def boom():
        raise RuntimeError("unexpected")

    app.add_url_rule("/__boom", "boom", boom)
    app.add_url_rule("/api/v1/__boom", "api_boom", boom)
    return app


def assert_secure_headers(response, url):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
    assert directives.get("script-src") == "'self'", (url, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
    assert directives.get("frame-ancestors") == "'none'" and directives.get("object-src") == "'none'", url
    assert directives.get("base-uri") == "'none'", url
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    assert headers.get("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin", "no-referrer"), url
    assert headers.get("X-Frame-Options") == "DENY", url


def assert_no_inline_script(response, url):
    if response.mimetype != "text/html":
        return
    document = html5lib.parse(response.get_data(as_text=True), namespaceHTMLElements=False)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "script":
            assert element.get("src", "").startswith("/static/") and not (element.text or "").strip(), url
        assert not [a for a in element.attrib if a.lower().startswith("on") or a.lower() == "style"], (url, element)


def test_every_public_response_has_the_headers(app):
    client = app.test_client()
    statuses = set()
    for url in PUBLIC_URLS:
        response = client.get(url)
        statuses.add(response.status_code)
        assert_secure_headers(response, url)
        assert_no_inline_script(response, url)
        assert "Strict-Transport-Security" not in response.headers, url   # plain HTTP here
    assert {200, 302, 400, 401, 404, 500} <= statuses


def test_other_error_paths_have_the_headers(app):
    client = app.test_client()
    cases = [client.post("/"),                                       # 405
             client.post("/sprak", data={"lang": "sv"}),             # 400 CSRF
             client.post("/logga-in", data={"x": "y" * 70_000}),     # 413
             client.get("/sok.json?q=\x01")]                         # 400 JSON
    for _ in range(4):
        cases.append(client.get("/sok?q=dagis"))                     # the last one is 429
    assert [r.status_code for r in cases] == [405, 400, 413, 400, 200, 200, 200, 429]
    for response in cases:
        assert_secure_headers(response, response.request.path)
        assert_no_inline_script(response, response.request.path)


def test_handler_pages_have_the_headers_and_are_not_cached(app, handler_user):
    client = app.test_client()
    login(client)
    for url in HANDLER_URLS:
        response = client.get(url)
        assert response.status_code in (200, 403), url
        assert_secure_headers(response, url)
        assert_no_inline_script(response, url)
        assert response.headers["Cache-Control"] == "no-store", url


def test_hsts_over_https(app):
    response = app.test_client().get("/", base_url="https://kunskapsbanken.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(re.search(r"max-age=(\d+)", response.headers["Strict-Transport-Security"]).group(1)) >= 31536000
    static = app.test_client().get("/static/css/site.css", base_url="https://kunskapsbanken.example")
    assert "Strict-Transport-Security" in static.headers


def test_hsts_behind_a_trusted_proxy_only(app):
    proxy = app.test_client()
    proxy.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    assert "Strict-Transport-Security" in proxy.get("/", headers={"X-Forwarded-Proto": "https"}).headers
    assert "Strict-Transport-Security" not in proxy.get("/", headers={"X-Forwarded-Proto": "http"}).headers
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    assert "Strict-Transport-Security" not in stranger.get("/", headers={"X-Forwarded-Proto": "https"}).headers


def test_hsts_with_secure_cookies(searcher, built_data_dir, tmp_path):
    from web import create_app

    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_SECURE_COOKIES="true"))
    assert "Strict-Transport-Security" in app.test_client().get("/finns-inte").headers
