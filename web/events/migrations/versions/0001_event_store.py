"""Event store: search events, outcomes, feedback, flags, missing-answer reports.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _stamp():
    return (sa.Column("id", sa.Integer, primary_key=True), sa.Column("created_at", sa.DateTime, nullable=False))


def upgrade() -> None:
    op.create_table(
        "search_events", *_stamp(),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("office", sa.String(120)),
        sa.Column("language", sa.String(16)),
        sa.Column("query", sa.String(500), nullable=False),
        sa.Column("hit_ids", sa.Text, nullable=False),
        sa.Column("top_confidence", sa.Float),
        sa.Column("hit_count", sa.Integer, nullable=False),
        sa.Column("low_confidence", sa.Boolean, nullable=False),
    )
    op.create_table(
        "outcomes", *_stamp(),
        sa.Column("article_id", sa.String(120), nullable=False),
        sa.Column("office", sa.String(120), nullable=False),
        sa.Column("answer_group", sa.String(120)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("referred_to", sa.String(120)),
        sa.Column("query", sa.String(500)),
    )
    op.create_table(
        "feedback", *_stamp(),
        sa.Column("article_id", sa.String(120), nullable=False),
        sa.Column("office", sa.String(120), nullable=False),
        sa.Column("helped", sa.Boolean, nullable=False),
        sa.Column("comment", sa.String(1000)),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("article_id", "session_hash", name="uq_feedback_article_session"),
    )
    op.create_table(
        "flags", *_stamp(),
        sa.Column("article_id", sa.String(120), nullable=False),
        sa.Column("office", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000)),
    )
    op.create_table(
        "missing_reports", *_stamp(),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("office", sa.String(120)),
        sa.Column("question", sa.String(500), nullable=False),
        sa.Column("note", sa.String(1000)),
    )
    for table in ("search_events", "outcomes", "feedback", "flags", "missing_reports"):
        op.create_index(f"ix_{table}_created_at", table, ["created_at"])


def downgrade() -> None:
    for table in ("missing_reports", "flags", "feedback", "outcomes", "search_events"):
        op.drop_table(table)
