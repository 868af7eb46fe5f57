"""`kb gap list` and `kb gap draft`: the gap queue from the command line, drafts written into the content folder."""
from __future__ import annotations

import datetime as dt
import json

import click

from kb.cli import cli


@cli.group("gap")
def gap_group() -> None:
    """Questions nothing answers yet, grouped by meaning (searches without a confident answer, "saknat svar")."""


def _date(_ctx, _param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def _groups(settings: dict, office: str | None, since: dt.date | None, until: dt.date | None):
    from sqlalchemy.exc import SQLAlchemyError

    from search.cli import open_searcher
    from web.events.commands import events_engine, problem
    from web.events.gaps import gap_groups

    searcher = open_searcher(settings)
    with events_engine(settings) as engine:
        try:
            return gap_groups(engine, searcher, office=office, since=since, until=until)
        except SQLAlchemyError as exc:   # an unreachable or empty store: a clear message, not a trace
            raise click.ClickException(f"could not read the event store: {problem(exc)} "
                                       "(run `kb db upgrade`?)") from None


_office_option = click.option("--office", default=None, help="Only groups of this office (folder key).")
_since_option = click.option("--since", default=None, callback=_date, help="From this date (YYYY-MM-DD).")
_until_option = click.option("--until", default=None, callback=_date,
                             help="Up to this date, not included (YYYY-MM-DD).")


@gap_group.command("list")
@_office_option
@_since_option
@_until_option
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON.")
@click.pass_obj
def gap_list(settings: dict, office: str | None, since, until, as_json: bool) -> None:
    """The gap queue, most asked first: id, count, days, title, examples and closest articles."""
    groups = _groups(settings, office, since, until)
    if as_json:
        click.echo(json.dumps([g.to_dict() for g in groups], ensure_ascii=False, indent=1))
        return
    for group in groups:
        click.echo(f"{group.id}  {group.count}× {group.days} d  {group.title}  "
                   f"[{', '.join(group.offices) or '-'}]")
        others = [f"{query} ({count})" for query, count in group.examples[1:4]]
        if others:
            click.echo(f"    also: {'; '.join(others)}")
        if group.closest:
            click.echo(f"    closest: {', '.join(c['id'] for c in group.closest)}")
    click.echo(f"{len(groups)} gap groups")


@gap_group.command("draft")
@click.argument("group_id")
@click.option("--office", default=None, help="Office folder to write to (default: the group's office).")
@click.option("--owner", default=None, help="Owner of the article (default: the office's owner, if it has one).")
@_since_option
@click.pass_obj
def gap_draft(settings: dict, group_id: str, office: str | None, owner: str | None, since) -> None:
    """Write a draft article (draft: true) for GROUP_ID into content/<office>/ and print its path."""
    from web.events.drafts import DraftError, draft_article, find_group

    try:
        group = find_group(_groups(settings, None, since, None), group_id)
        office = office or (group.offices[0] if group.offices else None)
        if office is None:
            raise click.UsageError("the group has no office: choose one with --office")
        path = draft_article(group, settings["content_dir"], office, owner)
    except DraftError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(path))
    click.echo("Next: edit it, remove `draft: true`, run `kb lint`, commit, `kb index`.", err=True)
