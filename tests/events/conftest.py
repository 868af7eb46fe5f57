"""Event-store fixtures: a database URL per backend (SQLite file, PostgreSQL schema), and apps over it."""
from __future__ import annotations

import uuid

import pytest

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def _pg_answers() -> str | None:
    """None when the PostgreSQL test server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_SERVER, connect_timeout=3):
            return None
    except Exception as exc:   # noqa: BLE001 - any failure means: no server to test against
        return f"no PostgreSQL at {PG_SERVER}: {type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be tested here (None when it can)."""
    return _pg_answers()


@pytest.fixture
def pg_url(pg_unavailable):
    """A fresh PostgreSQL schema for one test, dropped afterwards; the URL's search_path points at it."""
    if pg_unavailable:
        pytest.skip(pg_unavailable)
    import psycopg

    schema = f"kbtest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    """An empty event database: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def make_store():
    """Builds EventStores and disposes of their engines after the test."""
    from web.events.store import EventStore, events_url

    made = []

    def make(url: str) -> EventStore:
        store = EventStore(events_url({"events_database_url": url, "data_dir": "."}))
        made.append(store)
        return store

    yield make
    for store in made:
        store.flush()
        store.engine.dispose()


def pytest_configure(config):
    # Also registered by tests/web/conftest.py; repeated here so `pytest tests/events` alone knows the mark.
    config.addinivalue_line("markers", "browser: drives Debian's Chromium with Playwright (skipped without it)")
