"""The event store itself, against SQLite and PostgreSQL: migrations, writes, the queue, counted failures."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from web.events import tables
from web.events.store import current_revision, events_url, head_revision


def test_upgrade_creates_every_table_and_is_idempotent(store_url, make_store):
    store = make_store(store_url)
    assert current_revision(store.engine) is None
    assert store.upgrade() and store.upgrade()   # the second run finds nothing to do
    assert current_revision(store.engine) == head_revision()
    names = set(inspect(store.engine).get_table_names())
    assert {t.name for t in tables.TABLES} | {"alembic_version"} <= names


def test_migrations_match_the_table_definitions(store_url, make_store):
    store = make_store(store_url)
    store.upgrade()
    found = inspect(store.engine)
    for table in tables.TABLES:
        assert {c["name"] for c in found.get_columns(table.name)} == {c.name for c in table.columns}, table.name


def test_rows_of_every_kind_are_written(store_url, make_store):
    store = make_store(store_url)
    store.upgrade()
    assert store.write(tables.outcomes, {"article_id": "a", "office": "parkering", "outcome": "referred",
                                         "referred_to": "avfall", "query": "q"})
    assert store.write(tables.feedback, {"article_id": "a", "office": "parkering", "helped": True,
                                         "comment": "bra", "session_hash": "x" * 64})
    assert store.write(tables.flags, {"article_id": "a", "office": "parkering", "kind": "outdated", "reason": "r"})
    assert store.write(tables.missing_reports, {"channel": "handler", "question": "hur?", "note": None})
    store.enqueue(tables.search_events, {"channel": "resident", "source": "page", "query": "dagis kö",
                                         "hit_ids": json.dumps(["a", "b"]), "top_confidence": 0.8, "hit_count": 2,
                                         "low_confidence": False})
    store.flush()
    with store.engine.connect() as conn:
        for table in tables.TABLES:
            rows = conn.execute(select(table)).all()
            assert len(rows) == 1, table.name
            assert rows[0].created_at is not None
        event = conn.execute(select(tables.search_events)).one()
    assert json.loads(event.hit_ids) == ["a", "b"] and event.low_confidence is False
    assert store.failures == 0 and store.dropped == 0


def test_one_vote_per_article_and_session(store_url, make_store):
    store = make_store(store_url)
    store.upgrade()
    vote = {"article_id": "a", "office": "o", "helped": True, "comment": None, "session_hash": "s" * 64}
    assert store.write(tables.feedback, vote)
    with pytest.raises(IntegrityError):
        store.write(tables.feedback, dict(vote, helped=False))
    assert store.write(tables.feedback, dict(vote, article_id="b"))
    assert store.failures == 0


def test_unreachable_store_counts_failures_and_never_raises(make_store, caplog):
    store = make_store("postgresql://nobody@127.0.0.1:1/none")
    assert store.upgrade() is False
    assert store.write(tables.flags, {"article_id": "a", "office": "o", "kind": "wrong", "reason": "hemligt"}) is False
    store.enqueue(tables.search_events, {"channel": "resident", "source": "page", "query": "hemlig fråga",
                                         "hit_ids": "[]", "top_confidence": None, "hit_count": 0,
                                         "low_confidence": True})
    store.flush()
    assert store.failures >= 3
    assert "event store" in caplog.text
    assert "hemlig" not in caplog.text


def test_bare_postgresql_urls_use_psycopg3():
    assert events_url({"events_database_url": "postgresql://u@h/db", "data_dir": "."}) == "postgresql+psycopg://u@h/db"
    assert events_url({"events_database_url": "", "data_dir": "/tmp/x"}) == "sqlite:////tmp/x/events.db"


def test_sqlite_runs_in_wal_mode(tmp_path, make_store):
    store = make_store(f"sqlite:///{tmp_path / 'e.db'}")
    store.upgrade()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_kb_db_upgrade_command(store_url, runner, kb_cli, make_store):
    result = runner.invoke(kb_cli, ["db", "upgrade"], env={"KB_EVENTS_DATABASE_URL": store_url})
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output
    result = runner.invoke(kb_cli, ["db", "current"], env={"KB_EVENTS_DATABASE_URL": store_url})
    assert f"current: {head_revision()}" in result.output
    assert current_revision(make_store(store_url).engine) == head_revision()


def test_kb_db_upgrade_reports_an_unreachable_store(runner, kb_cli):
    result = runner.invoke(kb_cli, ["db", "upgrade"], env={"KB_EVENTS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"})
    assert result.exit_code == 1 and "could not upgrade the event store" in result.output
