"""Resident self-service: start page, answer-first results, article and area pages. Public content only."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import ngettext

from kb.schema import ID_PATTERN
from web import offices, present
from web.engine import get_searcher
from web.events import capture
from web.events.views import voted_on
from web.errors import UserError
from web.queries import read_search

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """One search box, the active public notices and the content areas."""
    return render_template("public/index.html", notices=present.notices(internal=False), areas=present.areas())


def _results(source: str):
    """Run the resident's search and record it; (view, None) or (None, UserError)."""
    try:
        asked = read_search()
    except UserError as exc:
        return None, exc
    result = get_searcher().search(asked.query, office=asked.office, language=asked.language, audience="public",
                                   k=asked.k)
    token = capture.record_search(result, asked.query, "resident", source, asked.office, asked.language)
    view = present.results_view(result, False, current_app.config["KB_ANSWER_CONFIDENCE"], asked.office)
    view["token"] = token   # result links carry it (?s=), so opening one is counted for this search
    return view, None


@bp.get("/sok")
def search():
    """Results for a question: works as a plain GET form without JavaScript."""
    view, error = _results("page")
    if error is None and not view["query"]:
        return redirect(url_for("public.index"))
    status = 400 if error else 200
    return render_template("public/results.html", view=view, error=error and error.user_message), status


@bp.get("/sok.json")
def search_live():
    """The results region as HTML inside JSON, for updating the page as the resident types."""
    view, error = _results("live")
    if error is not None:
        raise error
    html = render_template("public/_results.html", view=view) if view["query"] else ""
    return jsonify(query=view["query"], count=len(view["hits"]), low_confidence=view["low_confidence"],
                   status=status_message(view), html=html)


def status_message(view: dict) -> str:
    """What a screen reader hears when the results change."""
    if not view["query"]:
        return ""
    if view["low_confidence"]:
        return ngettext("Inget säkert svar. %(num)d möjlig träff.", "Inget säkert svar. %(num)d möjliga träffar.",
                        len(view["hits"]))
    return ngettext("%(num)d svar.", "%(num)d svar.", len(view["hits"]))


@bp.get("/artikel/<article_id>")
def article(article_id: str):
    """An article with related articles, e-service links, translations and the office card."""
    found = get_searcher().article(article_id, "public") if ID_PATTERN.match(article_id) else None
    if found is None:
        abort(404)   # the same answer for internal, expired and unknown ids: nothing to learn from it
    capture.record_opened(request.args.get("s"), found.id)
    view = present.article_view(found, internal=False)
    return render_template("public/article.html", article=view, office=offices.office_card(found.office),
                           area=get_searcher().snapshot.offices.get(found.office),
                           notices=present.notices(internal=False, office=found.office),
                           voted=voted_on(found.id))


@bp.get("/omrade/<office>")
def area(office: str):
    """The public articles of one content area, with its contact card."""
    card = offices.office_card(office) if ID_PATTERN.match(office) else None
    if card is None:
        abort(404)
    return render_template("public/area.html", office=card, articles=present.area_articles(office),
                           notices=present.notices(internal=False, office=office))
