"""`kb report` (an office's monthly report, as text or CSV) and `kb demo seed|clear` (the generated demo month)."""
from __future__ import annotations

import csv
import sys

import click

from kb.cli import cli, today_from
from web.events.commands import events_engine


def display(key: str, value) -> str:
    """A CSV value as the text report shows it: rates as percentages with one decimal."""
    if key.endswith("rate") and value != "":
        return f"{float(value) * 100:.1f} %"
    return "-" if value == "" else str(value)


def write_csv(rows, stream) -> None:
    """The report rows as CSV with a header (section, key, value)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(("section", "key", "value"))
    writer.writerows(rows)


@cli.command("report")
@click.option("--office", default=None, help="Office key (folder in content/); leave out for the whole centre.")
@click.option("--month", default=None, metavar="YYYY-MM", help="The month; default: the last full month.")
@click.option("--csv", "as_csv", is_flag=True, help="Write (section, key, value) rows as CSV.")
@click.pass_obj
def report_command(settings: dict, office: str | None, month: str | None, as_csv: bool) -> None:
    """An office's (or the whole contact centre's) monthly report from the event store."""
    from kb.loader import load_offices
    from search.cli import open_searcher
    from web.events.gaps import report_gaps
    from web.events.reports import ReportError, check_office, office_report, parse_month, previous_month, \
        report_rows

    today = today_from(settings)
    month = month or previous_month(today)
    try:
        parse_month(month)
    except ReportError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    offices = {key: o.name for key, o in load_offices(settings["content_dir"]).items()}
    try:
        check_office(office, offices)
    except ReportError as exc:
        raise click.BadParameter(str(exc), param_hint="--office") from None
    # The published index, not the content folder: the same articles and gap queue the report page shows.
    searcher = open_searcher(settings)
    with events_engine(settings, migrate=True) as engine:
        report = office_report(engine, office, month, articles=searcher.snapshot.articles, offices=offices,
                               today=today, gaps=report_gaps(searcher))
    rows = report_rows(report)
    if as_csv:
        write_csv(rows, sys.stdout)
        return
    who = f"{office} ({offices[office]})" if office else "the whole contact centre"
    click.echo(f"Report for {who}, {month}" + ("  [DEMO DATA]" if report["demo"] else ""))
    section = None
    for name, key, value in rows:
        if name == "report":
            continue
        if name != section:
            section = name
            click.echo(f"\n{name}")
        click.echo(f"  {key}: {display(key, value)}")


@cli.group("demo")
def demo_group() -> None:
    """A generated month of demo events (marked demo) for trying the reports and the gap queue."""


@demo_group.command("seed")
@click.option("--month", default=None, metavar="YYYY-MM", help="The month; default: the last full month.")
@click.option("--seed", "seed", default=1, show_default=True, type=int, help="Random seed (same seed, same month).")
@click.option("--per-day", default=None, type=click.IntRange(1, 2000), help="Questions on an ordinary weekday.")
@click.option("--force", is_flag=True, help="Add demo events even where the month has real ones.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store has any events at all (make run).")
@click.pass_obj
def demo_seed(settings: dict, month: str | None, seed: int, per_day: int | None, force: bool,
              if_empty: bool) -> None:
    """Generate a realistic month of events by running real questions through the search (idempotent)."""
    from search.cli import open_searcher
    from web.events import demo
    from web.events.reports import ReportError, parse_month, previous_month

    month = month or previous_month(today_from(settings))
    try:
        parse_month(month)
    except ReportError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    with events_engine(settings, migrate=True) as engine:
        if if_empty and demo.has_events(engine):
            click.echo("The event store already has events: no demo month added.")
            return
        searcher = open_searcher(settings)
        try:
            counts = demo.seed_month(engine, searcher, month, seed=seed, force=force,
                                     per_day=per_day or demo.QUESTIONS_PER_DAY)
        except demo.DemoError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Demo events for {month}: " + ", ".join(f"{n} {table}" for table, n in counts.items()))


@demo_group.command("clear")
@click.pass_obj
def demo_clear(settings: dict) -> None:
    """Delete every demo event (real events stay)."""
    from web.events import demo

    with events_engine(settings, migrate=True) as engine:
        click.echo(f"Removed {demo.clear_demo(engine)} demo events.")
