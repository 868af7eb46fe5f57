"""Liveness and readiness for load balancers and orchestrators: /healthz and /readyz (JSON, no auth, no limits).

/healthz says the process answers. /readyz says this worker can answer questions: a valid index version
and the model are loaded. Neither says anything about a user or a question.
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify

from indexer.versions import NoIndex
from kb.embedding.factory import ModelNotAvailable
from search.searcher import IndexModelMismatch
from web.engine import get_searcher

bp = Blueprint("health", __name__)
# Reason codes and fixed texts only: the exceptions' own messages name folders on the server.
REASONS = {
    NoIndex: ("no_index", "no valid index version: run `kb index`"),
    IndexModelMismatch: ("model_mismatch", "the index was built with another model: run `kb index --full`"),
    ModelNotAvailable: ("no_model", "the embedding model is not available: run `kb model build`"),
}


def init_app(app: Flask) -> None:
    """Register /healthz and /readyz."""
    app.register_blueprint(bp)


@bp.get("/healthz")
def healthz():
    """200 while the process answers at all."""
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
def readyz():
    """200 with the index version when this worker can search; 503 with a reason code when it cannot."""
    try:
        searcher = get_searcher()
    except tuple(REASONS) as exc:
        reason, message = next(v for k, v in REASONS.items() if isinstance(exc, k))
        return _no_store(jsonify(status="unavailable", reason=reason, message=message)), 503
    snapshot = searcher.snapshot
    store = current_app.extensions.get("kb_events")
    # Shown, not required: searches go on answering while the event store is down.
    events = "ok" if store is not None and store.ready else "unavailable"
    return _no_store(jsonify(status="ready", index=snapshot.version, articles=len(snapshot.articles), events=events))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response
