"""The event store resource: opened (and migrated) once per process, used by the capture helpers and views.

The store lives in web/ because only the web app writes events; `kb db upgrade` migrates it by hand.
"""
from __future__ import annotations

from flask import Flask, current_app

from web.events.store import EventStore, events_url

_EXTENSION = "kb_events"


def init_app(app: Flask) -> None:
    """Open the store and bring its schema up to date; an unreachable store is logged, never fatal."""
    from web.config import kb_settings
    from web.events import views

    store = app.config.get("EVENT_STORE") or EventStore(events_url(kb_settings(app)))
    store.upgrade()
    app.extensions[_EXTENSION] = store
    app.register_blueprint(views.bp)


def get_store() -> EventStore:
    """The process's event store."""
    return current_app.extensions[_EXTENSION]


def after_fork(app: Flask) -> None:
    """Give a forked worker (gunicorn preload) its own connections and writer thread."""
    app.extensions[_EXTENSION].after_fork()
