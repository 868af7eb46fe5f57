"""The app factory, the shared Searcher, settings, security headers and error pages."""
from __future__ import annotations

import pytest

from tests.web.conftest import app_config

def test_factory_takes_settings_and_test_config(app, built_data_dir):
    assert app.config["TESTING"] is True
    assert app.config["KB_DATA_DIR"] == str(built_data_dir)
    assert app.config["KB_SEARCH_K"] == 10                     # default from kb/settings.py
    assert set(app.blueprints) >= {"public", "handler", "api", "auth", "i18n"}


def test_test_config_strings_are_parsed_like_environment_variables(searcher, built_data_dir, tmp_path):
    from web import create_app

    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_SESSION_HOURS="2", KB_SECURE_COOKIES="true"))
    assert app.config["KB_SESSION_HOURS"] == 2 and app.config["SESSION_COOKIE_SECURE"] is True
    with pytest.raises(ValueError, match="KB_SECURE_COOKIES"):
        create_app(app_config(searcher, built_data_dir, tmp_path, KB_SECURE_COOKIES="maybe"))


def test_searcher_is_created_once_on_first_use(encoder, built_data_dir, tmp_path, searcher):
    from web import create_app
    from web.engine import get_searcher

    app = create_app(app_config(None, built_data_dir, tmp_path, ENCODER=encoder))
    assert app.extensions["kb_searcher"] is None              # nothing loaded at start-up
    with app.app_context():
        first = get_searcher()
        assert get_searcher() is first
    assert app.test_client().get("/sok?q=dagis").status_code == 200
    assert app.extensions["kb_searcher"] is first
    assert first.snapshot.version == searcher.snapshot.version


def test_missing_index_is_a_clear_503_not_a_500(encoder, tmp_path):
    from web import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "ENCODER": encoder, "KB_DATA_DIR": str(tmp_path),
                      "KB_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"})
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 503 and "Försök igen om en stund" in page.get_data(as_text=True)
    api = client.get("/api/v1/search?q=dagis")
    assert api.status_code == 503 and api.get_json()["error"] == "unavailable"


def test_secret_key_is_generated_once_and_kept(searcher, tmp_path):
    from web import create_app

    config = {"TESTING": True, "SEARCHER": searcher, "KB_DATA_DIR": str(tmp_path / "d"),
              "KB_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    first, second = create_app(config), create_app(config)
    assert first.secret_key and first.secret_key == second.secret_key
    assert (tmp_path / "d" / "secret_key").stat().st_mode & 0o077 == 0


def test_security_headers_and_csp_without_inline_script(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " onclick=" not in html and "style=" not in html
    assert 'src="/static/js/' in html


def test_session_cookie_flags(client):
    response = client.get("/")
    cookie = response.headers.get("Set-Cookie", "")
    assert "kb_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/finns-inte")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Sidan finns inte" in html and "Traceback" not in html and 'lang="sv"' in html


def test_wrong_method_is_405_page(client):
    assert client.put("/").status_code == 405


def test_unexpected_exception_is_a_500_page_without_trace(app, client, monkeypatch):
    import web.public

    def explode():
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(web.public.present, "notices", lambda **_: explode())
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "Något gick fel" in html
    assert "secret internal detail" not in html and "Traceback" not in html


def test_unexpected_exception_in_api_is_json(client, monkeypatch):
    import web.api

    monkeypatch.setattr(web.api.present, "notices", lambda internal: 1 / 0)
    response = client.get("/api/v1/notices")
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal_error", "message": response.get_json()["message"]}
    assert "ZeroDivision" not in response.get_data(as_text=True)


def test_too_large_body_is_413(client):
    response = client.post("/logga-in", data={"name": "x" * 70000})
    assert response.status_code == 413


def test_wsgi_entry_point_and_gunicorn_config_import(monkeypatch, tmp_path, searcher):
    import importlib
    import runpy

    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KB_SECRET_KEY", "k")
    wsgi = importlib.import_module("web.wsgi")
    assert wsgi.app.name == "web"
    config = runpy.run_path(str(__import__("pathlib").Path(__file__).parents[2] / "gunicorn.conf.py"))
    assert config["preload_app"] is True and callable(config["post_worker_init"])


def test_a_new_index_version_is_served_without_a_restart(encoder, content_copy, tmp_path):
    import time

    from indexer.build import build_index
    from tests.conftest import TODAY
    from web import create_app

    data_dir = tmp_path / "data"
    build_index(content_copy, data_dir, encoder, today=TODAY)
    app = create_app(app_config(None, data_dir, tmp_path, ENCODER=encoder))
    client = app.test_client()
    assert client.get("/artikel/ny-fraga").status_code == 404
    (content_copy / "avfall" / "ny.md").write_text(
        "---\nid: ny-fraga\ntitle: Får jag elda trädgårdsavfall?\noffice: avfall\n---\nNej, inte inne i staden.\n",
        encoding="utf-8")
    build_index(content_copy, data_dir, encoder, today=TODAY)
    time.sleep(1.1)   # the Searcher looks for a new version at most once a second
    page = client.get("/artikel/ny-fraga")
    assert page.status_code == 200 and "Nej, inte inne i staden." in page.get_data(as_text=True)
