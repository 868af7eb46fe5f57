"""The event store going down and coming back, and backups of it restored: nothing written is lost.

The outage test stops a private PostgreSQL server (tests/ops/conftest.py) in the middle of the test;
the shared server at 127.0.0.1:5432 is never touched.
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time

import psycopg

from tests.web.conftest import app_config

QUERIES = ["tillstånd för parkering", "dagis kö", "grovsopor hämtning"]


def _rows(url: str) -> list[tuple]:
    with psycopg.connect(url, connect_timeout=3) as conn:
        return conn.execute("SELECT id, channel, source, query, hit_ids FROM search_events ORDER BY id").fetchall()


def _search_until_stored(client, store, url: str, want: int, timeout: float = 20.0) -> list[tuple]:
    """Search (one event each) until `want` rows are in the database; the store retries after its pause."""
    deadline = time.monotonic() + timeout
    while True:
        assert client.get("/sok", query_string={"q": "parkering"}).status_code == 200
        store.flush()
        rows = _rows(url)
        if len(rows) >= want or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_searches_answer_through_an_event_store_outage_and_the_store_recovers(
        private_postgres, searcher, built_data_dir, tmp_path, monkeypatch):
    from web import create_app
    from web.events import store as store_module

    # Retry the store after 0.3 s instead of 10 s, so the recovery is seen quickly.
    monkeypatch.setattr(store_module, "RETRY_SECONDS", 0.3)
    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_EVENTS_DATABASE_URL=private_postgres.url))
    client = app.test_client()
    store = app.extensions["kb_events"]
    for query in QUERIES:
        assert client.get("/sok", query_string={"q": query}).status_code == 200
    store.flush()
    before = _rows(private_postgres.url)
    assert [row[3] for row in before] == QUERIES

    private_postgres.stop()
    for query in QUERIES * 3:
        page = client.get("/sok", query_string={"q": query})
        assert page.status_code == 200
        api = client.get("/api/v1/search", query_string={"q": query})
        assert api.status_code == 200 and api.get_json()["hits"]
    store.flush()
    assert store.failures > 0   # every event of the outage is counted as failed, none silently lost
    assert client.get("/readyz").get_json()["status"] == "ready"   # readiness does not depend on the store
    metrics = client.get("/metrics").get_data(as_text=True)
    failed = float(next(line.split()[-1] for line in metrics.splitlines()
                        if line.startswith("kb_events_failed_total")))
    assert failed >= 1

    private_postgres.start()
    time.sleep(0.4)
    after = _search_until_stored(client, store, private_postgres.url, len(before) + 1)
    assert len(after) > len(before), "the store did not recover after the database came back"
    assert after[:len(before)] == before   # nothing written before the outage is lost or changed
    assert client.get("/readyz").get_json()["events"] == "ok"


def _sqlite_backup(source, target) -> None:
    """The documented backup: sqlite3's `.backup` (the online backup API, safe while the app writes)."""
    if shutil.which("sqlite3"):
        subprocess.run(["sqlite3", str(source), f".backup '{target}'"], check=True, timeout=60)
    else:
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)


def _all_rows_sqlite(path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
                for table in ("search_events", "missing_reports")}


def test_sqlite_event_store_backup_restores_the_same_rows(searcher, built_data_dir, tmp_path):
    from web import create_app
    from web.events import capture

    app = create_app(app_config(searcher, built_data_dir, tmp_path))
    client = app.test_client()
    for query in QUERIES:
        client.get("/sok", query_string={"q": query})
    with app.test_request_context():
        assert capture.record_missing("Var lämnar jag gamla cyklar?", "saknas", None)
    app.extensions["kb_events"].flush()
    database = tmp_path / "events.db"
    written = _all_rows_sqlite(database)
    assert len(written["search_events"]) == 3 and len(written["missing_reports"]) == 1

    _sqlite_backup(database, tmp_path / "backup.db")
    app.extensions["kb_events"].engine.dispose()
    for leftover in tmp_path.glob("events.db*"):   # the disk is lost: database, WAL and all
        leftover.unlink()
    shutil.copy(tmp_path / "backup.db", database)   # the documented restore: copy back while the app is stopped

    restored = create_app(app_config(searcher, built_data_dir, tmp_path))
    assert restored.extensions["kb_events"].ready
    assert _all_rows_sqlite(database) == written


def test_postgresql_event_store_dump_restores_the_same_rows(private_postgres, searcher, built_data_dir, tmp_path):
    from web import create_app

    admin = private_postgres.url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE kbevents")
    url = admin.rsplit("/", 1)[0] + "/kbevents"
    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_EVENTS_DATABASE_URL=url))
    client = app.test_client()
    for query in QUERIES:
        client.get("/sok", query_string={"q": query})
    app.extensions["kb_events"].flush()
    written = _rows(url)
    assert len(written) == 3
    app.extensions["kb_events"].engine.dispose()

    tools = private_postgres.bin
    connection = ["-h", "127.0.0.1", "-p", str(private_postgres.port), "-U", "postgres"]
    dump = tmp_path / "events.dump"
    # The documented commands (docs/operations.md): a custom-format dump, then pg_restore into an empty database.
    subprocess.run([str(tools / "pg_dump"), *connection, "-Fc", "-f", str(dump), "kbevents"], check=True, timeout=60)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE kbevents")
        conn.execute("CREATE DATABASE kbevents")
    subprocess.run([str(tools / "pg_restore"), *connection, "-d", "kbevents", "--no-owner", str(dump)], check=True,
                   timeout=60)

    assert _rows(url) == written
    restored = create_app(app_config(searcher, built_data_dir, tmp_path, KB_EVENTS_DATABASE_URL=url))
    assert restored.extensions["kb_events"].ready   # the schema revision came back too: no migration needed
    restored.test_client().get("/sok", query_string={"q": "ny fråga efter återställning"})
    restored.extensions["kb_events"].flush()
    assert len(_rows(url)) == 4   # and new events continue after the restored ids
    restored.extensions["kb_events"].engine.dispose()
