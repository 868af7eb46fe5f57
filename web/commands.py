"""`kb serve` (development server) and `kb user ...` (accounts and API tokens)."""
from __future__ import annotations

import sys

import click

from kb.cli import cli
from kb.settings import env_name
from web.accounts import ROLES, AccountError


def make_app(settings: dict):
    """The web app with the settings the `kb` group has already read (options, KB_* variables)."""
    from web import create_app

    return create_app({env_name(name): value for name, value in settings.items()})


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.pass_obj
def serve_command(settings: dict, host: str, port: int) -> None:
    """Run the web app with the development server (use gunicorn in production: see README)."""
    from werkzeug.serving import run_simple

    from web.engine import UNAVAILABLE, get_searcher

    app = make_app(settings)
    click.echo("Loading the model and the index ...")
    with app.app_context():
        try:
            searcher = get_searcher()   # load now, so the first visitor does not wait
        except UNAVAILABLE as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Index {searcher.snapshot.version}: {len(searcher.snapshot.articles)} articles.")
    click.echo(f"Resident pages: http://{host}:{port}/   Handler workspace: http://{host}:{port}/handlaggare/")
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False,
               request_handler=_path_only_log())


def _path_only_log():
    from werkzeug.serving import WSGIRequestHandler

    class PathOnlyLog(WSGIRequestHandler):
        """Logs requests without their query string: a question (q=...) may hold personal data."""

        def log_request(self, code="-", size="-") -> None:
            self.path = self.path.split("?", 1)[0]   # the request is answered; only the log line sees this
            super().log_request(code, size)

    return PathOnlyLog


@cli.group("user")
def user_group() -> None:
    """Accounts for the handler workspace and the API."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="handler", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def user_add(settings: dict, name: str, role: str, password_stdin: bool) -> None:
    """Create an account (the password is asked for, or read with --password-stdin)."""
    from web import accounts

    with make_app(settings).app_context():
        try:
            user = accounts.create_user(name, _password(password_stdin), role)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.name} ({user.role}).")


@user_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.pass_obj
def user_password(settings: dict, name: str, password_stdin: bool) -> None:
    """Set a new password; the user's sessions end."""
    from web import accounts

    with make_app(settings).app_context():
        try:
            accounts.set_password(name, _password(password_stdin))
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Password of {name} changed.")


@user_group.command("token")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="Delete all the user's tokens instead of making one.")
@click.pass_obj
def user_token(settings: dict, name: str, revoke: bool) -> None:
    """Print a new API token for NAME (send it as `Authorization: Bearer <token>`); it is shown only once."""
    from web import accounts

    with make_app(settings).app_context():
        try:
            if revoke:
                click.echo(f"Revoked {accounts.revoke_tokens(name)} token(s) of {name}.")
            else:
                click.echo(accounts.issue_token(name))
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None


@user_group.command("list")
@click.pass_obj
def user_list(settings: dict) -> None:
    """List the accounts and their roles."""
    from web import accounts

    with make_app(settings).app_context():
        for user in accounts.list_users():
            click.echo(f"{user.name}\t{user.role}")


@user_group.command("remove")
@click.argument("name")
@click.pass_obj
def user_remove(settings: dict, name: str) -> None:
    """Delete an account and its API tokens."""
    from web import accounts

    with make_app(settings).app_context():
        if not accounts.delete_user(name):
            raise click.ClickException(f"no user named {name!r}")
    click.echo(f"Removed {name}.")
