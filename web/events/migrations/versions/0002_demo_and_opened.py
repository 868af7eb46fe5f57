"""Demo marker on every event table; "opened" tracking on search events (token, opened_article).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("search_events", "outcomes", "feedback", "flags", "missing_reports")


def upgrade() -> None:
    # batch_alter_table: SQLite cannot add a constrained column or an index in place on every version.
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()))
    with op.batch_alter_table("search_events") as batch:
        batch.add_column(sa.Column("token", sa.String(16)))
        batch.add_column(sa.Column("opened_article", sa.String(120)))
        batch.create_index("ix_search_events_token", ["token"])


def downgrade() -> None:
    with op.batch_alter_table("search_events") as batch:
        batch.drop_index("ix_search_events_token")
        batch.drop_column("opened_article")
        batch.drop_column("token")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("demo")
