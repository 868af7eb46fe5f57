"""The event store: an SQLAlchemy engine, Alembic migrations, and a background writer for search events.

Search events go through a bounded queue to one writer thread, so a slow or unreachable
database never delays an answer; a failed or dropped write is counted and logged (without
its content). Outcomes, feedback, flags and missing-answer reports are written at once,
since the person clicking wants to know it was kept.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import threading
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from web.events import tables

log = logging.getLogger("kb.events")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
QUEUE_SIZE = 10_000   # about an hour of peak searches; beyond that events are dropped (and counted)
RETRY_SECONDS = 10    # an unreachable store is tried again at most this often, not on every write


def events_url(settings: dict) -> str:
    """KB_EVENTS_DATABASE_URL, or an SQLite file in the data folder."""
    url = settings.get("events_database_url") or \
        f"sqlite:///{Path(settings['data_dir']).resolve() / 'events.db'}"
    # psycopg 3 is the driver we install; a bare postgresql:// would ask SQLAlchemy for psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_engine(url: str) -> Engine:
    """An engine for `url`: SQLite in WAL mode, short connect timeouts, parameters kept out of error messages."""
    args: dict = {}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        args["timeout"] = 5
    elif url.startswith("postgresql"):
        args["connect_timeout"] = 3
    # hide_parameters: a failed INSERT's message must not carry the (already redacted) text into the log.
    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=args)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL: readers (reports) never block the writer; NORMAL sync is safe with WAL and much cheaper.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config() -> Config:
    """The Alembic configuration of the event store (migrations in web/events/migrations)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None when empty)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest migration; returns the revision it is at."""
    config = alembic_config()
    if current_revision(engine) != head_revision():
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    return current_revision(engine)


def now() -> dt.datetime:
    """Naive UTC, the same in SQLite and PostgreSQL."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class EventStore:
    """Writes events; counts failures instead of raising them into a user's request."""

    def __init__(self, url: str):
        self.url = url
        self.engine = open_engine(url)
        self.failures = 0       # writes that failed (database down, bad data)
        self.dropped = 0        # search events thrown away because the queue was full
        self.ready = False
        self._retry_at = 0.0
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self._writer: threading.Thread | None = None   # started by the first event, in the process that serves

    def upgrade(self) -> bool:
        """Migrate the schema; on failure log it, count it and keep serving (writes are retried later)."""
        try:
            upgrade(self.engine)
            self.ready = True
        except Exception as exc:   # noqa: BLE001 - an unreachable store must not stop the app
            self._failed("upgrade", exc)
        return self.ready

    def _usable(self) -> bool:
        """True when the schema is in place; between retries of a failed upgrade the write counts as failed."""
        if self.ready:
            return True
        if time.monotonic() < self._retry_at:
            with self._lock:
                self.failures += 1
            return False
        return self.upgrade()

    # -- writing -----------------------------------------------------------------------------------------------

    def write(self, table, row: dict) -> bool:
        """Insert one row now; True when it was stored, False when it failed (counted and logged)."""
        if not self._usable():
            return False
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(table).values(created_at=now(), **row))
            return True
        except IntegrityError:
            raise   # the caller's business (a second vote), not a store failure
        except Exception as exc:   # noqa: BLE001 - the user's request goes on without its event
            self._failed(f"insert into {table.name}", exc)
            return False

    def enqueue(self, table, row: dict) -> None:
        """Hand a row to the writer thread without waiting; drops (and counts) it when the queue is full."""
        if self._writer is None or self._pid != os.getpid():   # after a fork the parent's thread is gone
            self._start_writer()
        try:
            self._queue.put_nowait((table, dict(row, created_at=now())))
        except queue.Full:
            with self._lock:
                self.dropped += 1
            log.warning("event queue full: search event dropped (%d so far)", self.dropped)

    def enqueue_statement(self, statement) -> None:
        """Queue an UPDATE (or other statement) behind the pending inserts, so it sees the rows they add."""
        if self._writer is None or self._pid != os.getpid():
            self._start_writer()
        try:
            self._queue.put_nowait((None, statement))
        except queue.Full:
            with self._lock:
                self.dropped += 1

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until queued events are written (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def after_fork(self) -> None:
        """Drop connections inherited from a parent process; the writer starts with the first event."""
        self.engine.dispose(close=False)

    def _start_writer(self) -> None:
        with self._lock:
            if self._writer is not None and self._pid == os.getpid():
                return   # another request thread started it first
            if self._pid != os.getpid():
                self._pid, self._queue = os.getpid(), queue.Queue(maxsize=QUEUE_SIZE)
            self._writer = threading.Thread(target=self._drain, args=(self._queue,), name="kb-events", daemon=True)
            self._writer.start()

    def _drain(self, work: queue.Queue) -> None:
        while True:
            table, row = work.get()
            try:
                if self._usable():
                    with self.engine.begin() as conn:
                        conn.execute(row if table is None else insert(table).values(**row))
            except Exception as exc:   # noqa: BLE001 - the writer thread must survive anything
                self._failed("update" if table is None else f"insert into {table.name}", exc)
            finally:
                work.task_done()

    def _failed(self, what: str, exc: Exception) -> None:
        # Stop trying for a while: while the database is down, writes fail at once instead of each
        # waiting for a connect timeout, and the log gets one line per retry, not one per search.
        self.ready = False
        self._retry_at = time.monotonic() + RETRY_SECONDS
        with self._lock:
            self.failures += 1
        # The type and the first line only: never the statement's values.
        message = str(exc).splitlines()[0][:200] if str(exc) else ""
        log.error("event store: %s failed (%s: %s); %d failure(s) so far", what, type(exc).__name__, message,
                  self.failures)
