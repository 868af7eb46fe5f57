"""The `kb` command group and the commands that need only the domain: lint, settings."""
from __future__ import annotations

import datetime as dt
import importlib
import sys

import click

from kb.loader import load_content
from kb.review import review_list
from kb.settings import describe, load_settings


def today_from(settings: dict) -> dt.date:
    """The configured 'today' (KB_TODAY) or the real date."""
    return dt.date.fromisoformat(settings["today"]) if settings.get("today") else dt.date.today()


class LazyGroup(click.Group):
    """A click group whose commands may live in modules imported only when the command is asked for.

    The entry point fills `lazy_commands` (command name -> module whose import registers it), so
    `kb index` does not import Flask, SQLAlchemy and alembic that only the web commands need.
    """

    lazy_commands: dict[str, str]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, registered or still lazy, sorted."""
        return sorted(set(self.commands) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """The command, importing its module first if it is not registered yet."""
        if name not in self.commands and name in self.lazy_commands:
            importlib.import_module(self.lazy_commands[name])
        return self.commands.get(name)


@click.group(cls=LazyGroup, help="Kunskapsbanken: the contact centre's knowledge bank. Settings: `kb settings`.")
@click.option("--content-dir", envvar="KB_CONTENT_DIR", default=None, help="Content folder (KB_CONTENT_DIR).")
@click.option("--data-dir", envvar="KB_DATA_DIR", default=None, help="Data folder (KB_DATA_DIR).")
@click.pass_context
def cli(ctx: click.Context, content_dir: str | None, data_dir: str | None) -> None:
    """Load the settings once for every sub-command."""
    try:
        ctx.obj = load_settings({"content_dir": content_dir, "data_dir": data_dir})
    except (ValueError, KeyError) as exc:
        raise click.UsageError(str(exc)) from None


@cli.command("settings")
def settings_command() -> None:
    """List every setting, its environment variable, default and meaning."""
    click.echo(describe())


@cli.command("lint")
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. overdue reviews) as errors.")
@click.pass_obj
def lint_command(settings: dict, strict: bool) -> None:
    """Check the content: every problem as path:line: message; exit 1 on errors."""
    corpus = load_content(settings["content_dir"], today=today_from(settings))
    for issue in corpus.issues:
        click.echo(str(issue), err=issue.severity == "error")
    errors = len(corpus.errors)
    warnings = len(corpus.issues) - errors
    click.echo(f"{len(corpus.articles)} articles, {len(corpus.offices)} offices, {len(corpus.notices)} notices: "
               f"{errors} errors, {warnings} warnings")
    if errors or (strict and warnings):
        sys.exit(1)


@cli.command("review")
@click.option("--office", default=None, help="Only this office (folder key).")
@click.option("--within", default=30, show_default=True, type=click.IntRange(0, 3650),
              help="Also list articles due within this many days.")
@click.pass_obj
def review_command(settings: dict, office: str | None, within: int) -> None:
    """Articles due for review or near valid_until, grouped by office and owner."""
    corpus = load_content(settings["content_dir"], today=today_from(settings))
    articles = [a for a in corpus.articles.values() if office in (None, a.office)]
    items = review_list(articles, today_from(settings), within)
    current = None
    for item in items:
        group = (item.article.office, item.article.owner or "(ingen ägare)")
        if group != current:
            current = group
            click.echo(f"\n{group[0]} — {group[1]}")
        when = f" {item.date.isoformat()}" if item.date else ""
        click.echo(f"  {item.reason}{when}: {item.article.id}  ({item.article.path})")
    click.echo(f"\n{len(items)} to review")
