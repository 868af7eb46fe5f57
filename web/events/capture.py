"""What the app records, redacted before it reaches the store (or a log). Nothing here raises into a request."""
from __future__ import annotations

import hashlib
import json
import re
import secrets

from flask import current_app, session
from sqlalchemy import update

from kb.redact import redact, redact_limited
from web.events import get_store, tables

TOP_HITS = 5   # ids kept per search: enough to see what was offered, small enough to stay cheap
TOKEN_PATTERN = re.compile(rf"^[0-9a-f]{{{tables.TOKEN_MAX}}}$")


def _limit() -> int:
    return min(current_app.config["KB_FEEDBACK_COMMENT_LENGTH"], tables.TEXT_MAX)   # the column holds no more


def record_search(result, query: str, channel: str, source: str, office: str | None = None,
                  language: str | None = None) -> str | None:
    """Queue one search (redacted query, top hits, confidence); returns its token for the result links."""
    if not query:
        return None
    hits = result.hits[:TOP_HITS]
    # Random, so a link tells nothing about the search or who made it; it only ties an opening to it.
    token = secrets.token_hex(tables.TOKEN_MAX // 2)
    current_app.extensions["kb_metrics"].searched(channel, source, bool(result.low_confidence))   # web/metrics.py
    get_store().enqueue(tables.search_events, {
        # Filters are validated free text (up to 120 characters); PostgreSQL refuses what does not fit a column.
        "channel": channel, "source": source, "office": (office or "")[:tables.KEY_MAX] or None,
        "language": (language or "")[:16] or None,
        "query": redact(query)[:tables.QUERY_MAX],
        "hit_ids": json.dumps([h.id for h in hits]),
        "top_confidence": round(float(result.confidence), 4) if result.hits else None,
        "hit_count": len(result.hits), "low_confidence": bool(result.low_confidence), "token": token})
    return token


def record_opened(token: str | None, article_id: str) -> None:
    """Mark the search behind `token` (from a result link, ?s=) as opened; the first article opened is kept."""
    if not token or not TOKEN_PATTERN.match(token):
        return   # no token, or not one we made: nothing to record, and never an error for the reader
    search = tables.search_events
    get_store().enqueue_statement(
        update(search).where(search.c.token == token, search.c.opened_article.is_(None))
        .values(opened_article=article_id[:tables.KEY_MAX]))


def record_outcome(article, outcome: str, referred_to: str | None, query: str) -> bool:
    """A handler's outcome of a call about `article`; True when stored."""
    return get_store().write(tables.outcomes, {
        "article_id": article.id, "office": article.office, "answer_group": article.group or None,
        "outcome": outcome, "referred_to": referred_to if outcome == "referred" else None,
        "query": redact(query)[:tables.QUERY_MAX] or None})


def record_feedback(article, helped: bool, comment: str) -> bool:
    """A resident's yes/no (and comment) on an article; IntegrityError when this session already voted."""
    return get_store().write(tables.feedback, {
        "article_id": article.id, "office": article.office, "helped": helped,
        "comment": redact_limited(comment, _limit()) or None, "session_hash": session_hash()})


def record_flag(article, kind: str, reason: str) -> bool:
    """A handler's flag on an article (wrong, outdated, unclear), for the article's office."""
    return get_store().write(tables.flags, {
        "article_id": article.id, "office": article.office, "kind": kind,
        "reason": redact_limited(reason, _limit()) or None})


def record_missing(question: str, note: str, office: str | None, channel: str = "handler") -> bool:
    """A question nothing answers, reported by a handler."""
    return get_store().write(tables.missing_reports, {
        "channel": channel, "office": office, "question": redact_limited(question, tables.QUERY_MAX),
        "note": redact_limited(note, _limit()) or None})


def session_hash() -> str:
    """A keyed hash of this browser session's random id: one vote per article and session, no identity."""
    sid = session.get("sid")
    if not sid:
        sid = session["sid"] = secrets.token_hex(16)
    key = str(current_app.secret_key).encode("utf-8")
    return hashlib.sha256(key + b"|" + sid.encode("ascii")).hexdigest()
