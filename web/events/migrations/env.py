"""Alembic environment of the event store: runs on the connection handed in by web.events.store.upgrade()."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from web.events.tables import metadata

config = context.config


def run_migrations_online() -> None:
    """Migrate on the caller's connection, or on one to `sqlalchemy.url` (plain `alembic` use)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `kb db upgrade`")
run_migrations_online()
