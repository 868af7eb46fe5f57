"""Rate limits per client on resident search, live search, feedback and the public API: in memory and in the
real Redis (several servers share the count); 429 with a clear page or JSON and Retry-After; logged-in
handlers never limited by residents' traffic."""
from __future__ import annotations

import uuid

import pytest

from tests.conftest import CANARY
from tests.web.conftest import PUBLIC_ARTICLE, app_config, csrf_token, login
from tests.web.test_security_access import redis_url  # noqa: F401 - the shared Redis fixture

LIMITS = {"KB_LIMIT_SEARCH": "3 per minute", "KB_LIMIT_LIVE_SEARCH": "4 per minute",
          "KB_LIMIT_FEEDBACK": "2 per minute", "KB_LIMIT_API": "3 per minute"}
TOO_MANY = "För många förfrågningar"


@pytest.fixture(params=["memory", "redis"])
def store(request):
    """Where the counters live: None (this process's memory) or the real Redis URL."""
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_url")


def make_app(searcher, built_data_dir, tmp_path, store, prefix=None, **extra):
    from web import create_app

    config = {**LIMITS, "RATELIMIT_KEY_PREFIX": prefix or f"t{uuid.uuid4().hex}", **extra}
    if store:
        config["KB_REDIS_URL"] = store
    return create_app(app_config(searcher, built_data_dir, tmp_path, **config))


@pytest.fixture
def limited_app(searcher, built_data_dir, tmp_path, store):
    return make_app(searcher, built_data_dir, tmp_path, store)


def from_address(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_retry_after(response):
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_resident_search_is_limited_with_a_clear_swedish_page(limited_app):
    client = limited_app.test_client()
    assert [client.get("/sok?q=dagis").status_code for _ in range(3)] == [200, 200, 200]
    over = client.get("/sok?q=dagis")
    assert over.status_code == 429 and over.mimetype == "text/html"
    html = over.get_data(as_text=True)
    assert TOO_MANY in html and "Vänta en liten stund" in html and "Traceback" not in html
    assert CANARY not in html
    assert_retry_after(over)
    # Another client is not affected, nor are the pages that are not limited.
    assert from_address(limited_app, "198.51.100.20").get("/sok?q=dagis").status_code == 200
    assert client.get(f"/artikel/{PUBLIC_ARTICLE}").status_code == 200


def test_live_search_answers_429_as_json(limited_app):
    client = limited_app.test_client()
    assert [client.get("/sok.json?q=dag").status_code for _ in range(4)] == [200] * 4
    over = client.get("/sok.json?q=dagis")
    assert over.status_code == 429 and over.get_json()["error"] == "rate_limited"
    assert_retry_after(over)


def test_the_public_api_shares_one_bucket_per_client_and_answers_json(limited_app):
    client = limited_app.test_client()
    codes = [client.get(url).status_code for url in ("/api/v1/offices", "/api/v1/search?q=dagis", "/api/v1/notices")]
    assert codes == [200, 200, 200]
    over = client.get(f"/api/v1/articles/{PUBLIC_ARTICLE}")
    assert over.status_code == 429 and over.mimetype == "application/json"
    body = over.get_json()
    assert body["error"] == "rate_limited" and "Vänta" in body["message"]
    assert_retry_after(over)


def test_feedback_is_limited(limited_app):
    client = limited_app.test_client()
    token = csrf_token(client.get(f"/artikel/{PUBLIC_ARTICLE}").get_data(as_text=True))
    url = f"/artikel/{PUBLIC_ARTICLE}/svar"
    codes = [client.post(url, data={"csrf_token": token, "helped": "ja"}).status_code for _ in range(3)]
    assert codes == [303, 303, 429]


def test_handlers_are_never_limited_by_residents_traffic(limited_app):
    from web import accounts

    with limited_app.app_context():
        accounts.create_user("hanna", "ett-långt-lösenord", "handler")
        token = accounts.issue_token("hanna")
    residents = limited_app.test_client()           # same address as the handler below (an office NAT)
    for url in ("/sok?q=a", "/sok.json?q=a", "/api/v1/offices"):
        assert 429 in [residents.get(url).status_code for _ in range(6)], url
    handler = limited_app.test_client()
    assert login(handler, "hanna", "ett-långt-lösenord").status_code == 303
    for _ in range(6):
        assert handler.get("/sok?q=dagis").status_code == 200
        assert handler.get("/sok.json?q=dagis").status_code == 200
        assert handler.get("/handlaggare/sok.json?q=dagis").status_code == 200
        assert handler.get("/api/v1/search?q=hot&audience=internal").status_code == 200
        api = limited_app.test_client().get("/api/v1/offices", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 200


def test_behind_a_trusted_proxy_each_resident_has_their_own_bucket(searcher, built_data_dir, tmp_path, store):
    app = make_app(searcher, built_data_dir, tmp_path, store, KB_TRUSTED_PROXIES="10.9.9.9")
    proxy = from_address(app, "10.9.9.9")

    def search(client_ip):
        return proxy.get("/sok?q=dagis", headers={"X-Forwarded-For": client_ip}).status_code

    assert [search("198.51.100.1") for _ in range(4)] == [200, 200, 200, 429]
    assert search("198.51.100.2") == 200
    # A resident cannot escape the limit by sending X-Forwarded-For themselves.
    direct = from_address(app, "198.51.100.3")
    codes = [direct.get("/sok?q=dagis", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]


def test_limits_can_be_turned_off(searcher, built_data_dir, tmp_path):
    app = make_app(searcher, built_data_dir, tmp_path, None, KB_RATE_LIMITS="false")
    client = app.test_client()
    assert {client.get("/sok?q=dagis").status_code for _ in range(6)} == {200}


def test_servers_sharing_redis_share_the_count(searcher, built_data_dir, tmp_path, redis_url):  # noqa: F811
    prefix = f"t{uuid.uuid4().hex}"
    nodes = [make_app(searcher, built_data_dir, tmp_path / str(n), redis_url, prefix=prefix) for n in range(2)]
    codes = [nodes[n % 2].test_client().get("/sok?q=dagis").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]


def test_an_unreachable_redis_never_stops_the_answers(searcher, built_data_dir, tmp_path):
    app = make_app(searcher, built_data_dir, tmp_path, "redis://127.0.0.1:1/0")
    client = app.test_client()
    codes = [client.get("/sok?q=dagis").status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] in (200, 429)   # counted in memory meanwhile
    assert client.get("/api/v1/search?q=dagis").status_code == 200
    assert login(client, "ingen", "fel-lösenord").status_code == 401


def test_bad_limit_settings_are_refused_at_start(searcher, built_data_dir, tmp_path):
    with pytest.raises(ValueError, match="KB_LIMIT_SEARCH"):
        make_app(searcher, built_data_dir, tmp_path, None, KB_LIMIT_SEARCH="lots")
