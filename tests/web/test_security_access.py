"""Access: single sign-on through a trusted proxy header, login throttling and lock-out, session expiry."""
from __future__ import annotations

import time
import uuid

import pytest

from tests.web.conftest import PASSWORD, app_config, csrf_token, login

PROXY = "10.1.2.3"
SSO = {"KB_TRUSTED_PROXIES": f"{PROXY}, 192.168.50.0/24", "KB_SSO_USER_HEADER": "X-Remote-User",
       "KB_SSO_GROUPS_HEADER": "X-Remote-Groups",
       "KB_SSO_ROLE_MAP": "KC Handläggare=handler, kc-redaktion=editor, kc-admin=admin"}


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def redis_url():
    """The real Redis at 127.0.0.1:6379; skipped (with the reason) only when none answers."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return REDIS_URL


def make_app(searcher, built_data_dir, tmp_path, **extra):
    from web import create_app

    return create_app(app_config(searcher, built_data_dir, tmp_path, **extra))


@pytest.fixture
def sso_app(searcher, built_data_dir, tmp_path):
    return make_app(searcher, built_data_dir, tmp_path, **SSO)


def via(app, address):
    """A client whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sso_headers(name, groups):
    # Proxies send UTF-8; WSGI carries header bytes as Latin-1 text.
    return {"X-Remote-User": name.encode("utf-8").decode("latin-1"),
            "X-Remote-Groups": groups.encode("utf-8").decode("latin-1")}


# --- single sign-on -------------------------------------------------------------------------------------------

def test_sso_user_from_the_trusted_proxy_gets_an_account_with_the_mapped_role(sso_app):
    from web import accounts

    client = via(sso_app, PROXY)
    page = client.get("/handlaggare/", headers=sso_headers("åsa.berg", "Alla, KC Handläggare"))
    assert page.status_code == 200
    assert "åsa.berg" in page.get_data(as_text=True)
    with sso_app.app_context():
        user = accounts.find_user("åsa.berg")
    assert user is not None and user.role == "handler"
    # A handler via SSO still may not reach the editor pages.
    assert client.get("/redaktion/", headers=sso_headers("åsa.berg", "KC Handläggare")).status_code == 403
    # Internal API answers work too, without a token.
    api = client.get("/api/v1/notices?audience=internal", headers=sso_headers("åsa.berg", "KC Handläggare"))
    assert api.status_code == 200


def test_the_highest_mapped_role_wins_and_follows_the_groups(sso_app):
    from web import accounts

    client = via(sso_app, "192.168.50.7")    # any address of the trusted network
    assert client.get("/redaktion/", headers=sso_headers("erik", "kc-redaktion;KC Handläggare")).status_code == 200
    with sso_app.app_context():
        assert accounts.find_user("erik").role == "editor"
    assert client.get("/redaktion/", headers=sso_headers("erik", "KC-REDAKTION")).status_code == 200
    assert client.get("/redaktion/", headers=sso_headers("erik", "KC Handläggare")).status_code == 403
    with sso_app.app_context():
        assert accounts.find_user("erik").role == "handler"


@pytest.mark.parametrize("name, groups", [("olle", "Alla anställda"), ("olle", ""), ("", "kc-admin"),
                                          ("två ord", "kc-admin"), ("x" * 81, "kc-admin")])
def test_sso_without_a_mapped_group_or_a_usable_name_gets_no_access(sso_app, name, groups):
    client = via(sso_app, PROXY)
    headers = sso_headers(name, groups)
    assert client.get("/handlaggare/", headers=headers).status_code == 403
    assert client.get("/redaktion/", headers=headers).status_code == 403
    assert client.get("/handlaggare/sok.json?q=hot", headers=headers).status_code == 403
    assert client.get("/api/v1/search?q=hot&audience=internal", headers=headers).status_code in (401, 403)


@pytest.mark.parametrize("extra", [{}, {"X-Forwarded-For": PROXY}, {"X-Real-IP": PROXY},
                                   {"X-Forwarded-For": f"{PROXY}, {PROXY}"}])
def test_the_header_is_ignored_from_anyone_but_the_trusted_proxy(sso_app, extra):
    from web import accounts

    client = via(sso_app, "203.0.113.9")
    headers = {**sso_headers("mallory", "kc-admin"), **extra}
    page = client.get("/handlaggare/", headers=headers)
    assert page.status_code == 302 and "/logga-in" in page.headers["Location"]
    assert client.get("/redaktion/", headers=headers).status_code == 302
    assert client.get("/api/v1/search?q=hot&audience=internal", headers=headers).status_code == 401
    with sso_app.app_context():
        assert accounts.find_user("mallory") is None


def test_sso_is_off_without_trusted_proxies(searcher, built_data_dir, tmp_path):
    app = make_app(searcher, built_data_dir, tmp_path, KB_SSO_USER_HEADER="X-Remote-User",
                   KB_SSO_ROLE_MAP="kc-admin=admin")
    assert via(app, "127.0.0.1").get("/handlaggare/", headers=sso_headers("x", "kc-admin")).status_code == 302


def test_an_sso_account_cannot_log_in_with_a_password(sso_app):
    via(sso_app, PROXY).get("/handlaggare/", headers=sso_headers("sara", "kc-admin"))
    client = sso_app.test_client()
    for password in ("!sso", "", PASSWORD, "sso"):
        assert login(client, "sara", password).status_code == 401


def test_a_bad_role_map_stops_the_app_with_a_clear_message(searcher, built_data_dir, tmp_path):
    with pytest.raises(ValueError, match="KB_SSO_ROLE_MAP.*'kc=boss'.*handler, editor, admin"):
        make_app(searcher, built_data_dir, tmp_path, **{**SSO, "KB_SSO_ROLE_MAP": "kc=boss"})


def test_bad_trusted_proxies_are_refused(searcher, built_data_dir, tmp_path):
    with pytest.raises(ValueError, match="KB_TRUSTED_PROXIES"):
        make_app(searcher, built_data_dir, tmp_path, KB_TRUSTED_PROXIES="10.0.0.1, proxy.example")


# --- login throttling -----------------------------------------------------------------------------------------

LOCK = {"KB_LOGIN_MAX_FAILURES": "3", "KB_LOGIN_ADDRESS_MAX_FAILURES": "8", "KB_LOGIN_LOCKOUT_MINUTES": "10"}
LOCKED_TEXT = "För många misslyckade inloggningar"


def attempts(client, name, passwords):
    return [login(client, name, password) for password in passwords]


@pytest.fixture
def lock_app(searcher, built_data_dir, tmp_path):
    return make_app(searcher, built_data_dir, tmp_path, RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex}", **LOCK)


def test_repeated_failures_lock_the_name_even_for_the_right_password(lock_app):
    from web import accounts

    with lock_app.app_context():
        accounts.create_user("hanna", PASSWORD, "handler")
    client = lock_app.test_client()
    first, second, third = attempts(client, "hanna", ["fel-1", "fel-2", "fel-3"])
    assert first.status_code == second.status_code == 401
    assert third.status_code == 429 and LOCKED_TEXT in third.get_data(as_text=True)
    assert 0 < int(third.headers["Retry-After"]) <= 600
    right = login(client, "hanna", PASSWORD)
    assert right.status_code == 429 and LOCKED_TEXT in right.get_data(as_text=True)
    assert "Vänta 10 minuter" in right.get_data(as_text=True)
    # The lock is on the name: other accounts from elsewhere are not affected.
    with lock_app.app_context():
        accounts.create_user("olof", PASSWORD, "handler")
    assert login(via(lock_app, "198.51.100.4"), "olof", PASSWORD).status_code == 303
    assert login(via(lock_app, "198.51.100.4"), "hanna", PASSWORD).status_code == 429


def test_the_lock_out_does_not_reveal_whether_the_name_exists(lock_app):
    from web import accounts

    with lock_app.app_context():
        accounts.create_user("hanna", PASSWORD, "handler")
    real = attempts(via(lock_app, "198.51.100.1"), "hanna", ["a", "b", "c", "d"])
    made_up = attempts(via(lock_app, "198.51.100.2"), "ingen-sadan", ["a", "b", "c", "d"])
    assert [r.status_code for r in real] == [r.status_code for r in made_up] == [401, 401, 429, 429]
    for a, b in zip(real, made_up):
        strip = lambda r: r.get_data(as_text=True).replace("ingen-sadan", "hanna")  # noqa: E731 - echoed name
        assert strip(a).replace(csrf_token(strip(a)), "") == strip(b).replace(csrf_token(strip(b)), "")


def test_a_successful_login_resets_the_count(lock_app):
    from web import accounts

    with lock_app.app_context():
        accounts.create_user("hanna", PASSWORD, "handler")
    client = lock_app.test_client()
    assert [r.status_code for r in attempts(client, "hanna", ["x", "y"])] == [401, 401]
    assert login(client, "hanna", PASSWORD).status_code == 303
    client.post("/logga-ut", data={"csrf_token": csrf_token(client.get("/handlaggare/").get_data(as_text=True))})
    assert [r.status_code for r in attempts(client, "hanna", ["x", "y"])] == [401, 401]
    assert login(client, "hanna", PASSWORD).status_code == 303


def test_many_names_from_one_address_lock_the_address(lock_app):
    from web import accounts

    with lock_app.app_context():
        accounts.create_user("hanna", PASSWORD, "handler")
    attacker = via(lock_app, "203.0.113.66")
    codes = [login(attacker, f"namn{i}", "gissning").status_code for i in range(8)]
    assert codes == [401] * 7 + [429]
    assert login(attacker, "hanna", PASSWORD).status_code == 429          # the address is locked
    assert login(via(lock_app, "203.0.113.67"), "hanna", PASSWORD).status_code == 303   # others are not


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_counted(searcher, built_data_dir, tmp_path):
    app = make_app(searcher, built_data_dir, tmp_path, RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex}",
                   KB_TRUSTED_PROXIES=PROXY, **LOCK)
    proxy = via(app, PROXY)
    page = proxy.get("/logga-in")
    token = csrf_token(page.get_data(as_text=True))

    def attempt(name, client_ip):
        return proxy.post("/logga-in", data={"csrf_token": token, "name": name, "password": "fel"},
                          headers={"X-Forwarded-For": f"{client_ip}, {PROXY}"}).status_code

    assert [attempt(f"n{i}", "198.51.100.10") for i in range(8)][-1] == 429
    assert attempt("n-ny", "198.51.100.11") == 401      # another resident behind the same proxy


def test_the_lock_is_shared_by_every_server_through_redis(searcher, built_data_dir, tmp_path, redis_url):
    prefix = f"t{uuid.uuid4().hex}"
    apps = [make_app(searcher, built_data_dir, tmp_path / str(n), RATELIMIT_KEY_PREFIX=prefix,
                     KB_REDIS_URL=redis_url, **LOCK) for n in range(2)]
    assert [login(apps[n % 2].test_client(), "hanna", "fel").status_code for n in range(3)] == [401, 401, 429]
    assert login(apps[1].test_client(), "hanna", "fel").status_code == 429


# --- sessions -------------------------------------------------------------------------------------------------

def test_a_session_expires_after_session_hours(handler_client, app):
    hours = app.config["KB_SESSION_HOURS"]
    assert handler_client.get("/handlaggare/").status_code == 200
    with handler_client.session_transaction() as session:
        session["login_at"] = int(time.time()) - hours * 3600 + 120      # still two minutes left
    assert handler_client.get("/handlaggare/").status_code == 200
    with handler_client.session_transaction() as session:
        session["login_at"] = int(time.time()) - hours * 3600 - 1
    expired = handler_client.get("/handlaggare/")
    assert expired.status_code == 302 and "expired=1" in expired.headers["Location"]
    assert "Din inloggning har gått ut" in handler_client.get(expired.headers["Location"]).get_data(as_text=True)
    # The old cookie stays dead: the session was cleared, not just refused once.
    assert handler_client.get("/handlaggare/").status_code == 302
    assert handler_client.get("/api/v1/notices?audience=internal").status_code == 401


def test_the_session_cookie_has_a_bounded_lifetime(handler_client, app):
    cookie = handler_client.get_cookie("kb_session")
    assert cookie is not None and cookie.http_only and cookie.expires is not None
    assert cookie.expires.timestamp() - time.time() <= app.config["KB_SESSION_HOURS"] * 3600 + 60
