"""The tables of the event store. Changing one needs a new Alembic revision in web/events/migrations/versions/."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text, UniqueConstraint

QUERY_MAX = 500       # the longest query the search accepts (KB_MAX_QUERY_LENGTH default)
TEXT_MAX = 1000       # comments, reasons, notes (the app cuts them shorter, KB_FEEDBACK_COMMENT_LENGTH)
KEY_MAX = 120         # article ids, office keys, answer groups

CHANNELS = ("resident", "handler")
OUTCOMES = ("solved", "referred", "callback")
FLAG_KINDS = ("wrong", "outdated", "unclear")

metadata = MetaData()

search_events = Table(
    "search_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("channel", String(16), nullable=False),           # resident | handler
    Column("source", String(8), nullable=False),            # page | live (as you type) | api
    Column("office", String(KEY_MAX)),                       # the office filter, if any
    Column("language", String(16)),
    Column("query", String(QUERY_MAX), nullable=False),      # redacted
    Column("hit_ids", Text, nullable=False),                 # JSON list of the top article ids
    Column("top_confidence", Float),
    Column("hit_count", Integer, nullable=False),
    Column("low_confidence", Boolean, nullable=False),
)

outcomes = Table(
    "outcomes", metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("article_id", String(KEY_MAX), nullable=False),
    Column("office", String(KEY_MAX), nullable=False),       # the article's office: reports are per office
    Column("answer_group", String(KEY_MAX)),
    Column("outcome", String(16), nullable=False),           # solved | referred | callback
    Column("referred_to", String(KEY_MAX)),                  # office key, for "referred"
    Column("query", String(QUERY_MAX)),                      # redacted
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("article_id", String(KEY_MAX), nullable=False),
    Column("office", String(KEY_MAX), nullable=False),
    Column("helped", Boolean, nullable=False),
    Column("comment", String(TEXT_MAX)),                     # redacted
    # A keyed hash of a random per-browser id: enforces one vote per article and session, identifies no one.
    Column("session_hash", String(64), nullable=False),
    UniqueConstraint("article_id", "session_hash", name="uq_feedback_article_session"),
)

flags = Table(
    "flags", metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("article_id", String(KEY_MAX), nullable=False),
    Column("office", String(KEY_MAX), nullable=False),       # flags reach the article's office
    Column("kind", String(16), nullable=False),              # wrong | outdated | unclear
    Column("reason", String(TEXT_MAX)),                      # redacted
)

missing_reports = Table(
    "missing_reports", metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("office", String(KEY_MAX)),
    Column("question", String(QUERY_MAX), nullable=False),   # redacted
    Column("note", String(TEXT_MAX)),                        # redacted
)

TABLES = (search_events, outcomes, feedback, flags, missing_reports)
