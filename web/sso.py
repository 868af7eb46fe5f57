"""Single sign-on through a trusted reverse proxy: it authenticates the user and passes the name and groups in
headers (KB_SSO_USER_HEADER, KB_SSO_GROUPS_HEADER). The headers are believed only when the request comes
straight from an address in KB_TRUSTED_PROXIES; from anyone else they are ignored.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache

from flask import Flask, current_app, request

from web import accounts
from web.security import from_trusted_proxy

log = logging.getLogger(__name__)
_NAME = re.compile(r"^[^\s\x00-\x1f\x7f]{1,%d}$" % accounts.NAME_MAX)
# Lowest to highest: with several mapped groups the user gets the highest role.
RANK = {role: rank for rank, role in enumerate(accounts.ROLES)}
DENIED = object()   # the proxy vouched for a user who has no mapped group


def init_app(app: Flask) -> None:
    """Check the role map once at start-up, so a typo stops the app instead of locking everybody out."""
    role_map(app.config.get("KB_SSO_ROLE_MAP") or "")
    if app.config.get("KB_SSO_USER_HEADER") and not app.config.get("KB_TRUSTED_PROXIES"):
        log.warning("KB_SSO_USER_HEADER is set but KB_TRUSTED_PROXIES is empty: single sign-on is off")


@lru_cache(maxsize=16)
def role_map(spec: str) -> dict[str, str]:
    """Parse 'group=role,group=role' (group names compared case-insensitively); ValueError names the bad part."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        group, sep, role = part.rpartition("=")
        role = role.strip()
        if not sep or not group.strip() or role not in accounts.ROLES:
            raise ValueError(f"KB_SSO_ROLE_MAP: {part!r} is not 'group=role' with a role among "
                             f"{', '.join(accounts.ROLES)}")
        mapping[group.strip().casefold()] = role
    return mapping


def _header(name: str) -> str:
    """A header value; proxies send UTF-8, which WSGI hands over as Latin-1 text."""
    value = request.headers.get(name, "")
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def role_for(groups: list[str], mapping: dict[str, str]) -> str | None:
    """The highest role any of the groups maps to, or None."""
    roles = [mapping[g.casefold()] for g in groups if g.casefold() in mapping]
    return max(roles, key=RANK.__getitem__) if roles else None


def proxy_user():
    """The user the trusted proxy vouches for (account created or its role updated), DENIED, or None."""
    config = current_app.config
    header = config.get("KB_SSO_USER_HEADER")
    if not header or header not in request.headers or not from_trusted_proxy():
        return None
    name = _header(header).strip()
    if not _NAME.match(name):
        return DENIED
    groups = [g.strip() for g in re.split(r"[,;]", _header(config.get("KB_SSO_GROUPS_HEADER") or "")) if g.strip()]
    role = role_for(groups, role_map(config.get("KB_SSO_ROLE_MAP") or ""))
    if role is None:
        return DENIED
    return accounts.ensure_sso_user(name, role)
