"""JSON API v1: search, articles, offices, notices. Public content unless the caller is a logged-in handler
(session) or sends a handler's API token (Authorization: Bearer)."""
from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request

from kb.schema import ID_PATTERN
from web import offices, present
from web.auth import WORKSPACE_ROLES
from web.engine import get_searcher
from web.events import capture
from web.errors import UserError
from web.openapi import document
from web.queries import read_search

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def internal_requested() -> bool:
    """True for audience=internal; refuses it (401/403) unless the caller may see internal content."""
    audience = request.args.get("audience", "public")
    if audience not in ("public", "internal"):
        raise UserError("bad_audience", "audience must be 'public' or 'internal'")
    if audience == "public":
        return False
    if g.user is None:
        abort(401)
    if g.user.role not in WORKSPACE_ROLES:
        abort(403)
    return True


@bp.get("/search")
def search():
    """Search articles; the same hits the resident's or the handler's page shows."""
    internal = internal_requested()
    asked = read_search()
    if not asked.query:
        raise UserError("missing_query", "the parameter q (the question) is required")
    result = get_searcher().search(asked.query, office=asked.office, group=asked.group, language=asked.language,
                                   audience=present.audience_of(internal), k=asked.k)
    capture.record_search(result, asked.query, "handler" if internal else "resident", "api", asked.office,
                          asked.language)
    body = result.to_dict()
    body["audience"] = present.audience_of(internal)
    return jsonify(body)


@bp.get("/articles/<article_id>")
def article(article_id: str):
    """One article: its public answer as HTML and text; internal notes and review state for handlers."""
    internal = internal_requested()
    found = get_searcher().article(article_id, present.audience_of(internal)) if ID_PATTERN.match(article_id) \
        else None
    if found is None:
        abort(404)
    view = present.article_view(found, internal)
    view.pop("url")
    for item in view["related"] + view["translations"]:
        item.pop("url")
    view["office_name"] = get_searcher().snapshot.offices.get(found.office, {}).get("name", found.office)
    return jsonify(view)


@bp.get("/offices")
def office_list():
    """Every office with contact details, opening hours and whether it is open now."""
    internal = internal_requested()
    items = []
    for key, office in sorted(get_searcher().snapshot.offices.items()):
        item = {name: office.get(name) for name in ("name", "description", "group", "phone", "email", "web",
                                                    "hours", "summer", "exceptions")}
        item["key"] = key
        item.update(offices.open_state(office))
        if internal:
            item["referral"] = office.get("referral", "")
        items.append(item)
    return jsonify(offices=items)


@bp.get("/notices")
def notice_list():
    """Active notices: public ones, or all for handlers."""
    internal = internal_requested()
    items = present.notices(internal)
    for item in items:
        item.pop("office_names")
    return jsonify(notices=items)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(document())
