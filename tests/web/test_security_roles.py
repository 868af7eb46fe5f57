"""Role boundaries over every route in app.url_map (new routes are covered automatically): anonymous visitors
get no handler, editor or internal API content; a handler cannot reach the editor pages; editors and admins can."""
from __future__ import annotations

import shutil

import pytest
from werkzeug.routing import IntegerConverter

from tests.conftest import CANARY, FIXTURE_CONTENT
from tests.web.conftest import PASSWORD, PUBLIC_ARTICLE, app_config, csrf_token, login

PROTECTED_PREFIXES = ("/handlaggare", "/redaktion")
SAMPLE = {"article_id": PUBLIC_ARTICLE, "office": "parkering", "filename": "css/site.css"}


@pytest.fixture
def app(searcher, built_data_dir, tmp_path):
    """The app with a throw-away content folder (editor pages may write drafts) and no rate limits."""
    from web import accounts, create_app

    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_CONTENT_DIR=str(content),
                                KB_RATE_LIMITS="false"))
    with app.app_context():
        for role in accounts.ROLES:
            accounts.create_user(f"{role}-konto", PASSWORD, role)
    return app


def routes(app):
    """(rule, method, url, required roles or None) for every route and method of the app."""
    found = []
    for rule in app.url_map.iter_rules():
        values = {name: 1 if isinstance(rule._converters.get(name), IntegerConverter) else SAMPLE.get(name, "x")
                  for name in rule.arguments}
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        roles = getattr(app.view_functions[rule.endpoint], "required_roles", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule, method, url, roles))
    return found


def call(client, method, url):
    """GET, or POST with a valid CSRF token (so it is the role check that answers, not the CSRF check)."""
    if method == "GET":
        return client.get(url)
    token = csrf_token(client.get("/").get_data(as_text=True))   # the language form has one
    return client.open(url, method=method, data={"csrf_token": token})


def signed_in(app, role):
    client = app.test_client()
    assert login(client, f"{role}-konto", PASSWORD).status_code == 303
    return client


def refused(response) -> bool:
    """Sent to the login page, or 401/403."""
    if response.status_code in (301, 302, 303):
        return "/logga-in" in response.headers["Location"]
    return response.status_code in (401, 403)


def test_every_route_under_the_protected_prefixes_requires_a_role(app):
    unguarded = [(r.rule, m) for r, m, _url, roles in routes(app)
                 if r.rule.startswith(PROTECTED_PREFIXES) and roles is None]
    assert not unguarded, f"routes without login_required: {unguarded}"
    assert any(r.rule.startswith("/redaktion") for r, *_ in routes(app))


def test_anonymous_visitors_are_refused_everywhere_a_role_is_required(app):
    client = app.test_client()
    checked = 0
    for rule, method, url, roles in routes(app):
        if roles is None:
            continue
        response = call(client, method, url)
        assert refused(response), (method, url, response.status_code)
        assert CANARY not in response.get_data(as_text=True), url
        checked += 1
    assert checked >= 8


def test_anonymous_visitors_get_no_internal_api_answers(app):
    client = app.test_client()
    api = [(url, method) for rule, method, url, _ in routes(app) if rule.rule.startswith("/api/") and method == "GET"
           and not rule.rule.endswith("openapi.json")]
    assert len(api) >= 4
    for url, _method in api:
        for query in ("?q=hot&audience=internal", "?q=hot&audience=INTERNAL", "?q=hot&audience=internal&audience=public"):
            response = client.get(url + query)
            assert response.status_code in (400, 401), (url, query, response.status_code)
            assert CANARY not in response.get_data(as_text=True)
        bad_token = client.get(url + "?q=hot&audience=internal", headers={"Authorization": "Bearer kb_nope"})
        assert bad_token.status_code == 401


def test_a_handler_cannot_reach_editor_or_admin_functions(app):
    client = signed_in(app, "handler")
    editor_only = [(method, url) for rule, method, url, roles in routes(app) if roles and "handler" not in roles]
    assert any(url.startswith("/redaktion") for _m, url in editor_only)
    for method, url in editor_only:
        response = call(client, method, url)
        assert response.status_code == 403, (method, url, response.status_code)
    # ... while the workspace is theirs.
    assert client.get("/handlaggare/").status_code == 200


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_reach_every_page_their_role_allows(app, role):
    client = signed_in(app, role)
    reached = 0
    for rule, method, url, roles in routes(app):
        if not roles or role not in roles or method != "GET":
            continue
        response = client.get(url)
        assert not refused(response), (url, response.status_code)
        assert response.status_code in (200, 303, 400, 404), (url, response.status_code)
        reached += 1
    assert reached >= 4
    assert client.get("/redaktion/").status_code == 200


def test_a_handlers_token_opens_the_internal_api_but_not_the_editor_pages(app):
    from web import accounts

    with app.app_context():
        token = accounts.issue_token("handler-konto")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/search?q=hot&audience=internal", headers=headers).status_code == 200
    assert refused(client.get("/redaktion/", headers=headers))
