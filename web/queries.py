"""Reading a search request: the question and its filters, refused with a clear message when unusable."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from flask import current_app, request
from flask_babel import gettext as _

from web.errors import UserError

_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")   # control bytes, undecodable bytes
_FILTER = re.compile(r"^[\w .,&()/-]{1,120}$")
MAX_K = 50


@dataclass
class SearchRequest:
    """A validated question with its filters."""

    query: str
    office: str | None = None
    group: str | None = None
    language: str | None = None
    k: int = 10


def read_search(default_k: int | None = None) -> SearchRequest:
    """The question (`q`) and filters of the current request; UserError (400) when they cannot be used."""
    if not _decodable(request.query_string):
        raise UserError("unreadable_query", _("Frågan innehåller tecken som inte går att läsa. Skriv den igen."))
    query = request.args.get("q", "")
    limit = current_app.config["KB_MAX_QUERY_LENGTH"]
    if len(query) > limit:
        raise UserError("query_too_long", _("Frågan är för lång. Skriv högst %(limit)d tecken.", limit=limit))
    if _UNREADABLE.search(query):
        raise UserError("unreadable_query", _("Frågan innehåller tecken som inte går att läsa. Skriv den igen."))
    filters = {}
    for name in ("office", "group", "language"):
        value = request.args.get(name, "").strip()
        if value and not _FILTER.match(value):
            raise UserError("bad_filter", _("Ogiltigt värde för filtret %(name)s.", name=name))
        filters[name] = value or None
    raw_k = request.args.get("k", "")
    k = default_k or current_app.config["KB_SEARCH_K"]
    if raw_k:
        if not (raw_k.isascii() and raw_k.isdigit()) or not 1 <= int(raw_k) <= MAX_K:
            raise UserError("bad_k", _("k måste vara ett heltal från 1 till %(max)d.", max=MAX_K))
        k = int(raw_k)
    return SearchRequest(query=query.strip(), k=k, **filters)


def _decodable(raw: bytes) -> bool:
    """True when the query string is ASCII and its %-escapes decode as UTF-8 (werkzeug would keep bad bytes as text)."""
    try:
        parse_qsl(raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        return False
    return True
