"""The internal-content canary holds on every error path: 400 validation errors, 401/403, 404, 405, 413, 429 and
the 500 page, which never shows a stack trace."""
from __future__ import annotations

import itertools
import urllib.parse

import pytest

from tests.conftest import CANARY
from tests.web.conftest import INTERNAL_ARTICLE, app_config
from tests.web.test_web_canary import leaks

INTERNAL_QUERY = urllib.parse.quote("rutin hotfull bilist anknytning gruppledaren")


@pytest.fixture
def app(searcher, built_data_dir, tmp_path):
    """The app with tight limits and routes that fail with internal text in the exception (page and API)."""
    from web import create_app

    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_LIMIT_SEARCH="2 per minute",
                                KB_LIMIT_LIVE_SEARCH="2 per minute", KB_LIMIT_API="2 per minute"))

    def fails():
        from web.engine import get_searcher

        article = get_searcher().article(INTERNAL_ARTICLE, "internal")
        raise RuntimeError(f"{CANARY} {article.internal_notes} {article.body}")

    app.add_url_rule("/trasig", "fails", fails)
    app.add_url_rule("/api/v1/trasig", "api_fails", fails)
    return app


_ADDRESSES = itertools.count(1)


def fresh(app):
    """A client from an address of its own, so the tight limits of this module only bite where meant to."""
    client = app.test_client()
    number = next(_ADDRESSES)
    client.environ_base["REMOTE_ADDR"] = f"198.51.{number // 250}.{number % 250}"
    return client


def assert_clean(response, *statuses):
    body = response.get_data(as_text=True)
    assert response.status_code in statuses, (response.request.url, response.status_code)
    assert not leaks(body), (response.request.url, leaks(body))
    assert "Traceback" not in body and "RuntimeError" not in body and 'File "' not in body


def test_validation_errors(app):
    for url in (f"/api/v1/search?q={INTERNAL_QUERY}&k=0", f"/api/v1/search?q={INTERNAL_QUERY}&office=%3Cx%3E",
                f"/api/v1/search?q={INTERNAL_QUERY}&audience=hemlig", f"/sok?q={INTERNAL_QUERY}&k=999",
                f"/sok.json?q={INTERNAL_QUERY}&office=%00", f"/sok?q={INTERNAL_QUERY}%FF",
                f"/api/v1/search?q={'a' * 600}", "/api/v1/search", f"/api/v1/articles/{INTERNAL_ARTICLE}?audience=x"):
        assert_clean(fresh(app).get(url), 400)


def test_not_found_and_refused(app):
    for url in (f"/artikel/{INTERNAL_ARTICLE}", f"/api/v1/articles/{INTERNAL_ARTICLE}", "/artikel/finns-inte",
                f"/omrade/{INTERNAL_ARTICLE}", "/api/v1/finns-inte"):
        assert_clean(fresh(app).get(url), 404)
    for url in (f"/api/v1/articles/{INTERNAL_ARTICLE}?audience=internal", "/api/v1/notices?audience=internal",
                f"/handlaggare/sok.json?q={INTERNAL_QUERY}"):
        assert_clean(fresh(app).get(url), 401)
    assert_clean(fresh(app).get("/api/v1/notices?audience=internal", headers={"Authorization": "Bearer x"}), 401)
    assert_clean(fresh(app).post(f"/artikel/{INTERNAL_ARTICLE}/svar", data={"helped": "ja"}), 400)   # no CSRF
    assert_clean(fresh(app).post("/sok"), 405)
    assert_clean(fresh(app).post("/logga-in", data={"name": "x" * 70_000}), 413)


def test_rate_limited(app):
    client = app.test_client()
    for url in (f"/sok?q={INTERNAL_QUERY}", f"/sok.json?q={INTERNAL_QUERY}", f"/api/v1/search?q={INTERNAL_QUERY}"):
        responses = [client.get(url) for _ in range(3)]
        assert responses[-1].status_code == 429
        for response in responses:
            assert_clean(response, 200, 429)


def test_the_500_page_shows_no_stack_trace_and_no_content(app, caplog):
    client = app.test_client()
    page = client.get("/trasig")
    assert_clean(page, 500)
    assert "Något gick fel" in page.get_data(as_text=True) and page.mimetype == "text/html"
    api = client.get("/api/v1/trasig")
    assert_clean(api, 500)
    assert api.get_json() == {"error": "internal_error", "message": api.get_json()["message"]}
    assert "unexpected error on GET /trasig" in caplog.text     # the failure really happened (and was logged)
