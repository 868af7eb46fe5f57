"""Web fixtures: an app over the session's fixture index, clients, accounts, and CSRF helpers."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from kb.hours import STOCKHOLM
from tests.conftest import TODAY

# Monday 23 November 2026 10:00 in Stockholm: every fixture office is open.
OPEN_HOUR = dt.datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)
PASSWORD = "ett-långt-lösenord"
INTERNAL_ARTICLE = "rutin-hotfull-bilist"
PUBLIC_ARTICLE = "parkeringstillstand-rorelsehindrad"


def app_config(searcher, built_data_dir, tmp_path, **extra) -> dict:
    """The test configuration: the shared fixture Searcher, a fixed clock, fresh accounts and event databases."""
    config = {
        "TESTING": True,
        "SEARCHER": searcher,
        "SECRET_KEY": "test-secret",
        "CLOCK": lambda: OPEN_HOUR,
        "KB_DATA_DIR": str(built_data_dir),
        "KB_DATABASE_URL": f"sqlite:///{tmp_path / 'accounts.db'}",
        "KB_EVENTS_DATABASE_URL": f"sqlite:///{tmp_path / 'events.db'}",
        "KB_TODAY": TODAY.isoformat(),
    }
    config.update(extra)
    return config


@pytest.fixture
def app(searcher, built_data_dir, tmp_path):
    """The web app over the fixture index."""
    from web import create_app

    return create_app(app_config(searcher, built_data_dir, tmp_path))


@pytest.fixture
def client(app):
    """A test client (cookies kept between requests)."""
    return app.test_client()


@pytest.fixture
def handler_user(app):
    """An account with the handler role."""
    from web import accounts

    with app.app_context():
        return accounts.create_user("hanna", PASSWORD, "handler")


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client, name: str = "hanna", password: str = PASSWORD, next_url: str | None = None):
    """Log in through the real form (CSRF token included); returns the response."""
    page = client.get("/logga-in")
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "name": name, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/logga-in", data=data)


@pytest.fixture
def handler_client(client, handler_user):
    """A client logged in as a handler."""
    response = login(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Debian's Chromium with Playwright (skipped without it)")
