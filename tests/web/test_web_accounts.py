"""Accounts: scrypt hashes, `kb user`, login/logout, CSRF, session expiry, API tokens."""
from __future__ import annotations

import time

import pytest

from tests.web.conftest import PASSWORD, app_config, csrf_token, login


def test_passwords_are_stored_as_scrypt_hashes(app, handler_user):
    from sqlalchemy import select

    from web import accounts

    with app.app_context(), accounts._engine().connect() as conn:
        stored = conn.execute(select(accounts.users.c.password_hash)).scalar_one()
    assert stored.startswith("scrypt:") and PASSWORD not in stored


@pytest.mark.parametrize("name, password, role, message", [
    ("ok", "short", "handler", "at least"),
    ("ok", PASSWORD, "boss", "unknown role"),
    ("two words", PASSWORD, "handler", "without spaces"),
    ("", PASSWORD, "handler", "1-80"),
])
def test_create_user_refuses_bad_input(app, name, password, role, message):
    from web import accounts

    with app.app_context(), pytest.raises(accounts.AccountError, match=message):
        accounts.create_user(name, password, role)


def test_duplicate_user_is_refused(app, handler_user):
    from web import accounts

    with app.app_context(), pytest.raises(accounts.AccountError, match="already exists"):
        accounts.create_user("hanna", PASSWORD, "editor")


def test_login_and_logout_through_the_forms(client, handler_user):
    assert client.get("/handlaggare/").status_code == 302
    response = login(client, next_url="/handlaggare/?q=dagis")
    assert response.status_code == 303 and response.headers["Location"] == "/handlaggare/?q=dagis"
    page = client.get("/handlaggare/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "hanna" in html and "Logga ut" in html
    out = client.post("/logga-ut", data={"csrf_token": csrf_token(html)})
    assert out.status_code == 303
    assert client.get("/handlaggare/").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_401_page(client, handler_user):
    wrong = login(client, password="fel-lösenord-igen")
    unknown = login(client, name="okänd")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Fel användarnamn eller lösenord." in response.get_data(as_text=True)
    assert client.get("/handlaggare/").status_code == 302


def test_login_and_logout_need_csrf(client, handler_user):
    assert client.post("/logga-in", data={"name": "hanna", "password": PASSWORD}).status_code == 400
    login(client)
    assert client.post("/logga-ut").status_code == 400
    assert client.get("/handlaggare/").status_code == 200                   # still logged in


def test_login_redirect_stays_on_this_site(client, handler_user):
    response = login(client, next_url="https://evil.example/")
    assert response.headers["Location"] == "/handlaggare/"


def test_expired_session_asks_to_log_in_again(app, client, handler_user):
    login(client)
    with client.session_transaction() as session:
        session["login_at"] = int(time.time()) - app.config["KB_SESSION_HOURS"] * 3600 - 1
    response = client.get("/handlaggare/")
    assert response.status_code == 302 and "expired=1" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Din inloggning har gått ut" in page


def test_logout_ends_copies_of_the_session_cookie(app, handler_user):
    thief, owner = app.test_client(), app.test_client()
    login(owner)
    thief.set_cookie("kb_session", owner.get_cookie("kb_session").value)
    assert thief.get("/handlaggare/").status_code == 200
    html = owner.get("/handlaggare/").get_data(as_text=True)
    owner.post("/logga-ut", data={"csrf_token": csrf_token(html)})
    assert thief.get("/handlaggare/").status_code == 302


def test_deleted_user_loses_access(app, client, handler_user):
    from web import accounts

    login(client)
    with app.app_context():
        assert accounts.delete_user("hanna")
    assert client.get("/handlaggare/").status_code == 302


def test_secure_cookie_flag_in_production(searcher, built_data_dir, tmp_path):
    from web import create_app

    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_SECURE_COOKIES=True))
    cookie = app.test_client().get("/").headers["Set-Cookie"]
    assert "Secure" in cookie


def test_tokens_are_random_hashed_and_revocable(app, handler_user):
    from sqlalchemy import select

    from web import accounts

    with app.app_context():
        token = accounts.issue_token("hanna")
        assert token.startswith("kb_") and len(token) > 40
        assert accounts.user_for_token(token).name == "hanna"
        assert accounts.user_for_token(token + "x") is None and accounts.user_for_token("") is None
        with accounts._engine().connect() as conn:
            assert token not in str(conn.execute(select(accounts.api_tokens)).all())
        assert accounts.revoke_tokens("hanna") == 1
        assert accounts.user_for_token(token) is None


def _kb(runner, kb_cli, args, data_dir, db, **kwargs):
    return runner.invoke(kb_cli, ["--data-dir", str(data_dir), *args],
                         env={"KB_DATABASE_URL": f"sqlite:///{db}", "KB_SECRET_KEY": "x"}, **kwargs)


def test_kb_user_commands(runner, kb_cli, tmp_path):
    db = tmp_path / "users.db"
    added = _kb(runner, kb_cli, ["user", "add", "anna", "--role", "editor", "--password-stdin"], tmp_path, db,
                input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "Created anna (editor)" in added.output
    listed = _kb(runner, kb_cli, ["user", "list"], tmp_path, db)
    assert "anna\teditor" in listed.output
    token = _kb(runner, kb_cli, ["user", "token", "anna"], tmp_path, db)
    assert token.exit_code == 0 and token.output.strip().startswith("kb_")
    prompted = _kb(runner, kb_cli, ["user", "add", "bo"], tmp_path, db, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0 and "Created bo (handler)" in prompted.output
    changed = _kb(runner, kb_cli, ["user", "password", "bo", "--password-stdin"], tmp_path, db,
                  input="ett-annat-långt-lösenord\n")
    assert changed.exit_code == 0
    assert _kb(runner, kb_cli, ["user", "remove", "bo"], tmp_path, db).exit_code == 0


def test_kb_user_errors_are_clear(runner, kb_cli, tmp_path):
    db = tmp_path / "users.db"
    bad_role = _kb(runner, kb_cli, ["user", "add", "x", "--role", "boss", "--password-stdin"], tmp_path, db,
                   input=PASSWORD + "\n")
    assert bad_role.exit_code == 2 and "handler" in bad_role.output and "admin" in bad_role.output
    short = _kb(runner, kb_cli, ["user", "add", "x", "--password-stdin"], tmp_path, db, input="kort\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    missing = _kb(runner, kb_cli, ["user", "token", "nobody"], tmp_path, db)
    assert missing.exit_code == 1 and "no user named 'nobody'" in missing.output
