"""The search engine resource: one Searcher per process, created on first use and shared by all requests."""
from __future__ import annotations

import datetime as dt
import threading

from flask import Flask, current_app

from indexer.versions import NoIndex
from kb.embedding.factory import ModelNotAvailable, encoder_from_settings
from search.searcher import IndexModelMismatch, Searcher
from web.config import kb_settings

_EXTENSION = "kb_searcher"
_lock = threading.Lock()
# Failures that mean "the service is not set up yet" (503 with a hint), not a bug (500).
UNAVAILABLE = (NoIndex, IndexModelMismatch, ModelNotAvailable)


def init_app(app: Flask) -> None:
    """Reserve the slot; tests may hand in a ready Searcher as SEARCHER or an encoder as ENCODER."""
    app.extensions[_EXTENSION] = app.config.get("SEARCHER")


def get_searcher() -> Searcher:
    """The process's Searcher: loads model and index on first call; later calls only check for a new version."""
    app = current_app._get_current_object()
    searcher = app.extensions.get(_EXTENSION)
    if searcher is None:
        with _lock:   # two first requests at once must not load the model twice
            searcher = app.extensions.get(_EXTENSION)
            if searcher is None:
                searcher = app.extensions[_EXTENSION] = _open(app)
    searcher.refresh()   # at most one look at CURRENT a second: pages that only list offices see new versions too
    return searcher


def _open(app: Flask) -> Searcher:
    settings = kb_settings(app)
    encoder = app.config.get("ENCODER") or encoder_from_settings(settings)
    today = dt.date.fromisoformat(settings["today"]) if settings["today"] else None
    return Searcher(settings["data_dir"], encoder, fuzzy=settings["fuzzy_fallback"],
                    max_query_length=settings["max_query_length"], today=today,
                    keyword_backend=settings["keyword_backend"])
