"""`kb db upgrade` and `kb db current`: migrate the event store by hand (the app also upgrades on start)."""
from __future__ import annotations

from contextlib import contextmanager

import click

from kb.cli import cli


@cli.group("db")
def db_group() -> None:
    """The event store (searches, outcomes, feedback, flags, missing answers): KB_EVENTS_DATABASE_URL."""


def problem(exc: Exception) -> str:
    """An exception as one line for a command's error message (type and first line, never a trace)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


@contextmanager
def events_engine(settings: dict, *, migrate: bool = False):
    """The event store's engine for one command, disposed afterwards; `migrate`: bring its tables up to date first."""
    from web.events.store import events_url, open_engine, upgrade

    engine = open_engine(events_url(settings))
    try:
        if migrate:
            try:
                upgrade(engine)
            except Exception as exc:   # noqa: BLE001 - a clear message instead of a trace
                raise click.ClickException(f"could not open the event store: {problem(exc)}") from None
        yield engine
    finally:
        engine.dispose()


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(settings: dict) -> None:
    """Create or migrate the event store's tables to the newest revision."""
    from web.events.store import upgrade

    with events_engine(settings) as engine:
        try:
            revision = upgrade(engine)
        except Exception as exc:   # noqa: BLE001 - a clear message instead of a trace
            raise click.ClickException(f"could not upgrade the event store: {problem(exc)}") from None
    click.echo(f"Event store at revision {revision}.")


@db_group.command("current")
@click.pass_obj
def db_current(settings: dict) -> None:
    """Print the event store's revision and the newest one."""
    from web.events.store import current_revision, head_revision

    with events_engine(settings) as engine:
        click.echo(f"current: {current_revision(engine) or '(empty)'}  newest: {head_revision()}")
