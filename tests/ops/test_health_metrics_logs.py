"""Health and readiness, Prometheus metrics and the JSON logs, through the Flask test client."""
from __future__ import annotations

import json
import logging
import runpy

import pytest

from tests.conftest import ROOT
from tests.web.conftest import app_config

PERSONAL = "850101-1234 anna@example.com"


@pytest.fixture
def ops_app(searcher, built_data_dir, tmp_path):
    """The app over the fixture index with rate limits on, as in production."""
    from web import create_app

    return create_app(app_config(searcher, built_data_dir, tmp_path, KB_RATE_LIMITS=True))


def _value(text: str, sample: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(sample))


def test_healthz_and_readyz_answer_without_login_or_limits(ops_app):
    client = ops_app.test_client()
    for _ in range(120):   # more than any per-client limit: health checks are never limited
        assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "ready" and body["articles"] > 0 and body["index"]
    assert ready.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in ready.headers


def test_metrics_count_searches_by_channel_no_answers_and_latency(ops_app):
    client = ops_app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    client.get("/sok", query_string={"q": f"parkeringstillstånd {PERSONAL}"})
    client.get("/sok", query_string={"q": "kvantfysik för hundar på månen"})
    client.get("/api/v1/search", query_string={"q": "dagis kö"})
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    resident_page = 'kb_searches_total{channel="resident",source="page"}'
    assert _value(text, resident_page) - _value(before, resident_page) == 2
    assert _value(text, 'kb_searches_total{channel="resident",source="api"}') >= 1
    assert _value(text, 'kb_searches_low_confidence_total{channel="resident"}') > \
        _value(before, 'kb_searches_low_confidence_total{channel="resident"}')
    assert 'kb_http_request_duration_seconds_count{endpoint="public.search",status="200"}' in text
    assert "kb_index_info{" in text and _value(text, "kb_index_articles") > 0
    assert "kb_events_failed_total" in text and "kb_events_dropped_total" in text
    assert "850101" not in text and "anna@" not in text and "parkeringstillst" not in text


@pytest.mark.parametrize("address,headers,allow,status", [
    ("127.0.0.1", {}, "127.0.0.1,::1", 200),
    ("203.0.113.9", {}, "127.0.0.1,::1", 404),
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, "127.0.0.1,::1", 404),   # through the proxy: refused
    ("10.1.2.3", {}, "10.1.0.0/16", 200),
    ("10.2.0.1", {}, "10.1.0.0/16", 404),
])
def test_metrics_only_for_allowed_addresses(searcher, built_data_dir, tmp_path, address, headers, allow, status):
    from web import create_app

    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_METRICS_ALLOW=allow))
    response = app.test_client().get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == status
    if status == 404:
        assert "kb_" not in response.get_data(as_text=True)


def test_metrics_allow_setting_is_validated():
    from kb.settings import env_name, load_settings

    assert load_settings()["metrics_allow"] == "127.0.0.1,::1"
    assert env_name("metrics_allow") == "KB_METRICS_ALLOW"


@pytest.fixture
def json_lines():
    """Every record of the app's loggers, formatted by the production JSON formatter."""
    from web.logsetup import JsonFormatter

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_access_log_is_one_json_object_per_request_without_the_question(ops_app, json_lines):
    client = ops_app.test_client()
    response = client.get("/sok", query_string={"q": PERSONAL})
    client.get("/artikel/850101-1234")   # personal data in the path itself: a 404, logged redacted
    access = [json.loads(line) for line in json_lines if '"kb.access"' in line]
    first = access[0]
    assert first["path"] == "/sok" and first["status"] == 200 and first["method"] == "GET"
    assert first["level"] == "INFO" and first["time"].endswith("+00:00")
    assert isinstance(first["duration_ms"], float)
    assert first["request_id"] == response.headers["X-Request-ID"]
    assert access[1]["status"] == 404 and "[personnummer]" in access[1]["path"]
    everything = "\n".join(json_lines)
    assert "850101" not in everything and "anna@example.com" not in everything


def test_request_id_from_the_proxy_is_kept_only_when_harmless(ops_app):
    client = ops_app.test_client()
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a-0001"}).headers["X-Request-ID"] == "lb-7f3a-0001"
    for unsafe in ("850101-1234", "x" * 200, "a b c d e f g h", "<script>"):
        assigned = client.get("/healthz", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
        assert assigned != unsafe and len(assigned) == 32


def test_errors_logged_while_answering_are_redacted(ops_app, json_lines):
    @ops_app.get("/trasig")
    def broken():
        raise ValueError(f"kunde inte tolka {PERSONAL}")

    response = ops_app.test_client().get("/trasig")
    assert response.status_code == 500
    everything = "\n".join(json_lines)
    assert "ValueError" in everything and "[personnummer]" in everything
    assert "850101" not in everything and "anna@example.com" not in everything
    assert all(json.loads(line) for line in json_lines)


def test_gunicorn_config_logs_json_and_keeps_the_path_only_format():
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    formatter = settings["logconfig_dict"]["formatters"]["json"]["()"]
    assert formatter.__name__ == "JsonFormatter"
    assert settings["preload_app"] is True and settings["workers"] >= 2 and settings["timeout"] > 0
    assert callable(settings["on_starting"]) and callable(settings["child_exit"])
    assert "%(U)s" in settings["access_log_format"] and "%(r)s" not in settings["access_log_format"]
