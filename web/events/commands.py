"""`kb db upgrade` and `kb db current`: migrate the event store by hand (the app also upgrades on start)."""
from __future__ import annotations

import click

from kb.cli import cli


@cli.group("db")
def db_group() -> None:
    """The event store (searches, outcomes, feedback, flags, missing answers): KB_EVENTS_DATABASE_URL."""


def _engine(settings: dict):
    from web.events.store import events_url, open_engine

    return open_engine(events_url(settings))


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(settings: dict) -> None:
    """Create or migrate the event store's tables to the newest revision."""
    from web.events.store import upgrade

    engine = _engine(settings)
    try:
        revision = upgrade(engine)
    except Exception as exc:   # noqa: BLE001 - a clear message instead of a trace
        raise click.ClickException(f"could not upgrade the event store: {type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    finally:
        engine.dispose()
    click.echo(f"Event store at revision {revision}.")


@db_group.command("current")
@click.pass_obj
def db_current(settings: dict) -> None:
    """Print the event store's revision and the newest one."""
    from web.events.store import current_revision, head_revision

    engine = _engine(settings)
    try:
        click.echo(f"current: {current_revision(engine) or '(empty)'}  newest: {head_revision()}")
    finally:
        engine.dispose()
