"""The handler workspace: search as you type, filters, articles with internal notes and the referral card."""
from __future__ import annotations

import time

from flask import Blueprint, abort, jsonify, render_template, request

from kb.schema import ID_PATTERN
from web import config, offices, present
from web.auth import login_required
from web.engine import get_searcher
from web.events import capture
from web.errors import UserError
from web.queries import read_search

bp = Blueprint("handler", __name__, url_prefix="/handlaggare")


def _filters() -> dict:
    """The choices of the filter menus: offices, answer groups and languages in the index."""
    snap = get_searcher().snapshot
    groups, languages = snap.articles.groups, snap.articles.languages   # computed once per version
    office_list = sorted(((k, o["name"]) for k, o in snap.offices.items()), key=lambda item: item[1].lower())
    return {"offices": office_list, "groups": groups, "languages": languages}


def _results(source: str):
    """Run the handler's search and record it; returns (request, view, error)."""
    started = time.perf_counter()
    try:
        asked = read_search()
    except UserError as exc:
        return None, None, exc
    result = get_searcher().search(asked.query, office=asked.office, group=asked.group, language=asked.language,
                                   audience="internal", k=asked.k)
    token = capture.record_search(result, asked.query, "handler", source, asked.office, asked.language)
    view = present.results_view(result, True, answer_confidence=2.0)   # handlers pick the answer themselves
    view["token"] = token   # result links carry it (&s=), so opening one is counted for this search
    searcher = get_searcher()
    for hit in view["hits"]:
        article = searcher.article(hit["id"], "internal")
        hit["copy_text"] = present.copy_text(article) if article else ""
        hit["expired"] = bool(article and article.is_expired(config.today()))
        hit["office_name"] = searcher.snapshot.offices.get(hit["office"], {}).get("name", hit["office"])
    view["server_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return asked, view, None


@bp.get("/")
@login_required
def workspace():
    """Search box, filters and results (server-rendered, so it also works without JavaScript)."""
    asked, view, error = _results("page")
    status = 400 if error else 200
    return render_template("handler/workspace.html", asked=asked, view=view, filters=_filters(),
                           error=error and error.user_message,
                           notices=present.notices(internal=True), saved=request.args.get("sparat")), status


@bp.get("/sok.json")
@login_required
def search_live():
    """The result list as HTML inside JSON, for the search-as-you-type box."""
    asked, view, error = _results("live")
    if error is not None:
        raise error
    html = render_template("handler/_results.html", view=view) if view["query"] else ""
    return jsonify(query=view["query"], count=len(view["hits"]), took_ms=view["took_ms"],
                   server_ms=view["server_ms"], html=html)


@bp.get("/artikel/<article_id>")
@login_required
def article(article_id: str):
    """Public answer and internal notes, referral card, related articles, e-services and review state."""
    found = get_searcher().article(article_id, "internal") if ID_PATTERN.match(article_id) else None
    if found is None:
        abort(404)
    capture.record_opened(request.args.get("s"), found.id)
    view = present.article_view(found, internal=True)
    return render_template("handler/article.html", article=view,
                           office=offices.office_card(found.office, internal=True),
                           notices=present.notices(internal=True, office=found.office),
                           back=request.args.get("q", ""), saved=request.args.get("sparat"),
                           referral_offices=_filters()["offices"])
