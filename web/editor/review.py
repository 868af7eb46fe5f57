"""/redaktion/granskning: articles due for review or near `valid_until`, per office and owner (kb/review.py)."""
from __future__ import annotations

from itertools import groupby

from flask import render_template, request
from flask_babel import gettext as _

from kb.review import review_list
from web import config
from web.editor import add_link, bp, editor_required
from web.engine import get_searcher

WITHIN_CHOICES = (30, 60, 90, 180)

add_link("editor.review", "Granskning")


def reason_label(reason: str) -> str:
    """kb/review.py's reason as the page says it."""
    return {"overdue": _("Granskning försenad"), "due soon": _("Ska granskas snart"),
            "never reviewed": _("Aldrig granskad"), "expires soon": _("Slutar gälla snart"),
            "expired": _("Har slutat gälla")}.get(reason, reason)


@bp.get("/granskning")
@editor_required
def review():
    """The published articles an editor should look at, grouped by office and owner, most urgent first."""
    snapshot = get_searcher().snapshot
    offices = sorted(((k, o["name"]) for k, o in snapshot.offices.items()), key=lambda o: o[1])
    office = (request.args.get("office") or "").strip() or None
    if office not in snapshot.offices:
        office = None
    try:
        within = int(request.args.get("dagar", WITHIN_CHOICES[0]))
    except ValueError:
        within = WITHIN_CHOICES[0]
    if within not in WITHIN_CHOICES:
        within = WITHIN_CHOICES[0]
    articles = snapshot.articles.at(snapshot.articles.rows_where(office=office))
    items = review_list(articles, config.today(), within)
    sections = [{"office": key[0], "office_name": snapshot.offices.get(key[0], {}).get("name", key[0]),
                 "owner": key[1], "items": list(group)}
                for key, group in groupby(items, key=lambda i: (i.article.office, i.article.owner))]
    return render_template("editor/review.html", sections=sections, offices=offices, office=office,
                           within=within, choices=WITHIN_CHOICES, count=len(items), reason_label=reason_label)
