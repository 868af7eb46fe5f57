"""Local accounts and API tokens, stored with SQLAlchemy in KB_DATABASE_URL.

Passwords are hashed with scrypt (werkzeug); API tokens are random and only their
SHA-256 is stored, so a copy of the database gives away neither.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import (Column, DateTime, ForeignKey, Integer, MetaData, String, Table, create_engine, delete,
                        insert, select, update)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

ROLES = ("handler", "editor", "admin")
HASH_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 10
NAME_MAX = 80
TOKEN_PREFIX = "kb_"
SSO_ONLY = "!sso"   # password hash of accounts created by single sign-on: no password ever matches it
_EXTENSION = "kb_accounts"


@functools.cache
def _dummy_hash() -> str:
    """Checked against when a name is unknown, so a wrong name costs as long as a wrong password.

    Made when the web app starts (init_app), not at import: scrypt took 0.11 s of every `kb` command.
    """
    return generate_password_hash("not a real password", method=HASH_METHOD)


metadata = MetaData()
users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(NAME_MAX), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(20), nullable=False),
    # Changed at logout and password change: session cookies that carry an old value stop working.
    Column("session_nonce", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
)
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)


class AccountError(ValueError):
    """A user could not be created or changed; the message says why."""


@dataclass(frozen=True)
class User:
    """A logged-in person (or the owner of an API token)."""

    id: int
    name: str
    role: str
    session_nonce: str


def database_url(settings: dict) -> str:
    """KB_DATABASE_URL, or an SQLite file in the data folder."""
    return settings["database_url"] or f"sqlite:///{Path(settings['data_dir']).resolve() / 'accounts.db'}"


def open_engine(url: str) -> Engine:
    """An engine for `url` with the tables created."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine


def init_app(app: Flask) -> None:
    """Open the accounts database once per process, creating its tables if needed."""
    from web.config import kb_settings

    app.extensions[_EXTENSION] = open_engine(database_url(kb_settings(app)))
    _dummy_hash()   # now, so the first login with an unknown name takes no longer than the next


def _engine() -> Engine:
    return current_app.extensions[_EXTENSION]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _user(row) -> User:
    return User(row.id, row.name, row.role, row.session_nonce)


def create_user(name: str, password: str, role: str) -> User:
    """Add an account; refuses unknown roles, taken names and short passwords."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or any(c.isspace() for c in name):
        raise AccountError(f"the name must be 1-{NAME_MAX} characters without spaces")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    with _engine().begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.name == name)).first():
            raise AccountError(f"a user named {name!r} already exists")
        conn.execute(insert(users).values(
            name=name, password_hash=generate_password_hash(password, method=HASH_METHOD), role=role,
            session_nonce=secrets.token_hex(16), created_at=_now()))
    return find_user(name)


def find_user(name: str) -> User | None:
    """The account with this name, if any."""
    with _engine().connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
    return _user(row) if row else None


def get_user(user_id: int) -> User | None:
    """The account with this id, if any."""
    with _engine().connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def list_users() -> list[User]:
    """All accounts, by name."""
    with _engine().connect() as conn:
        return [_user(row) for row in conn.execute(select(users).order_by(users.c.name))]


def authenticate(name: str, password: str) -> User | None:
    """The user if name and password match, else None (in about the same time either way)."""
    with _engine().connect() as conn:
        row = conn.execute(select(users).where(users.c.name == (name or "").strip())).first()
    if row is None or row.password_hash == SSO_ONLY:
        check_password_hash(_dummy_hash(), password or "")
        return None
    return _user(row) if check_password_hash(row.password_hash, password or "") else None


def ensure_sso_user(name: str, role: str) -> User:
    """The account of a single sign-on user, created on first sight; its role follows the proxy's groups."""
    try:
        with _engine().begin() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
            if row is None:
                conn.execute(insert(users).values(name=name, password_hash=SSO_ONLY, role=role,
                                                  session_nonce=secrets.token_hex(16), created_at=_now()))
            elif row.role != role:
                conn.execute(update(users).where(users.c.id == row.id).values(role=role))
    except IntegrityError:
        pass   # a parallel first request created it a moment ago
    return find_user(name)


def set_password(name: str, password: str) -> None:
    """Change a password; every session of the user ends."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    with _engine().begin() as conn:
        done = conn.execute(update(users).where(users.c.name == name).values(
            password_hash=generate_password_hash(password, method=HASH_METHOD), session_nonce=secrets.token_hex(16)))
    if not done.rowcount:
        raise AccountError(f"no user named {name!r}")


def end_sessions(user_id: int) -> None:
    """Invalidate every session cookie of a user (used by logout)."""
    with _engine().begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(session_nonce=secrets.token_hex(16)))


def delete_user(name: str) -> bool:
    """Remove an account and its tokens; True if it existed."""
    with _engine().begin() as conn:
        row = conn.execute(select(users.c.id).where(users.c.name == name)).first()
        if row is None:
            return False
        conn.execute(delete(api_tokens).where(api_tokens.c.user_id == row.id))
        conn.execute(delete(users).where(users.c.id == row.id))
    return True


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(name: str) -> str:
    """A new API token for a user; shown once, only its hash is kept."""
    user = find_user(name)
    if user is None:
        raise AccountError(f"no user named {name!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with _engine().begin() as conn:
        conn.execute(insert(api_tokens).values(user_id=user.id, token_sha256=_digest(token), created_at=_now()))
    return token


def revoke_tokens(name: str) -> int:
    """Delete every API token of a user; returns how many there were."""
    user = find_user(name)
    if user is None:
        raise AccountError(f"no user named {name!r}")
    with _engine().begin() as conn:
        return conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user.id)).rowcount


def user_for_token(token: str) -> User | None:
    """The owner of an API token, or None when the token is unknown."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with _engine().connect() as conn:
        row = conn.execute(select(users).join(api_tokens, api_tokens.c.user_id == users.c.id)
                           .where(api_tokens.c.token_sha256 == _digest(token))).first()
    return _user(row) if row else None


def after_fork(app: Flask) -> None:
    """Drop connections inherited from a parent process (gunicorn preload) without closing the parent's."""
    app.extensions[_EXTENSION].dispose(close=False)
