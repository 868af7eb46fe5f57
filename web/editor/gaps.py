"""/redaktion/luckor: the gap queue for editors, and "Skapa utkast", which writes a draft article from a group.

The draft goes into the content folder (KB_CONTENT_DIR) as `draft: true`: it is not indexed, so nobody
sees it until an editor has written the answer, removed the marker and committed it.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from kb.schema import ID_PATTERN
from web.editor import add_link, bp, editor_required
from web.engine import get_searcher
from web.events import get_store
from web.events.drafts import DraftError, draft_article, find_group, question_title, slugify
from web.events.gaps import gap_groups

log = logging.getLogger("kb.editor")
SHOWN_EXAMPLES = 5

add_link("editor.gaps", "Luckor")


def _error_messages() -> dict[str, str]:
    return {
        "exists": _("Det finns redan en fil med det namnet. Den har inte ändrats."),
        "id_taken": _("Det finns redan en artikel med samma id. Ändra den i stället, eller skapa utkastet för hand."),
        "unknown_office": _("Välj ett område som finns."),
        "unknown_group": _("Gruppen finns inte längre i kön. Den kan ha fått ett svar."),
        "store": _("Händelselagret går inte att nå just nu. Försök igen om en stund."),
    }


def _filters() -> tuple[str | None, dt.date | None]:
    """The office and since filters from the request (form or query string); unknown values are ignored."""
    name = "office_filter" if request.method == "POST" else "office"   # a POST's `office` is the draft's
    office = (request.values.get(name) or "").strip() or None
    if office is not None and office not in get_searcher().snapshot.offices:
        office = None
    since = None
    raw = (request.values.get("since") or "").strip()
    if raw:
        try:
            since = dt.date.fromisoformat(raw)
        except ValueError:
            since = None
    return office, since


def _groups(office: str | None, since: dt.date | None):
    """The groups, or None when the event store cannot be read."""
    try:
        return gap_groups(get_store().engine, get_searcher(), office=office, since=since)
    except SQLAlchemyError as exc:   # the page says so instead of a 500
        log.error("gap queue: the event store could not be read (%s)", type(exc).__name__)
        return None


@bp.get("/luckor")
@editor_required
def gaps():
    """The gap queue: groups of unanswered questions, most asked first, each with a "Skapa utkast" button."""
    return _page()


def _page(draft: dict | None = None):
    office, since = _filters()
    groups = _groups(office, since)
    offices = sorted(((k, o["name"]) for k, o in get_searcher().snapshot.offices.items()), key=lambda o: o[1])
    code = request.args.get("fel")
    messages = _error_messages()
    error = messages.get(code) if code else None
    status = 200
    if groups is None:
        error, groups, status = messages["store"], [], 503
    return render_template("editor/gaps.html", groups=groups, offices=offices, office=office, since=since,
                           error=error, error_group=request.args.get("grupp"), shown=SHOWN_EXAMPLES,
                           draft=draft, existing=_existing_drafts(groups)), status


def _existing_drafts(groups) -> dict[str, str]:
    """Group id -> the file already written for it (office/slug.md), so the page offers no second draft."""
    content_dir = Path(current_app.config["KB_CONTENT_DIR"])
    found = {}
    for group in groups:
        slug = slugify(question_title(group.title))
        for path in content_dir.glob(f"*/{slug}.md") if slug else []:
            found[group.id] = f"{path.parent.name}/{path.name}"
    return found


@bp.post("/luckor/utkast")
@editor_required
def create_draft():
    """Write a draft article for one group into content/<office>/, then show it (post/redirect/get)."""
    office_filter, since = _filters()
    group_id = request.form.get("group", "").strip()
    office = request.form.get("office", "").strip()

    def back(code: str):
        return redirect(url_for("editor.gaps", office=office_filter, since=since and since.isoformat(), fel=code,
                                grupp=group_id or None, _anchor=f"grupp-{group_id}" if group_id else None), code=303)

    groups = _groups(None, since)
    if groups is None:
        return back("store")
    try:
        group = find_group(groups, group_id)
        path = draft_article(group, current_app.config["KB_CONTENT_DIR"], office, g.user.name)
    except DraftError as exc:
        return back(exc.code)
    return redirect(url_for("editor.draft", office=office, article_id=path.stem), code=303)


@bp.get("/luckor/utkast/<office>/<article_id>")
@editor_required
def draft(office: str, article_id: str):
    """A draft as written (its path, its text and what to do next), above the rest of the queue."""
    if not ID_PATTERN.match(office) or not ID_PATTERN.match(article_id):
        abort(404)
    content_dir = Path(current_app.config["KB_CONTENT_DIR"])
    path = content_dir / office / f"{article_id}.md"
    if not path.is_file():
        abort(404)
    draft = {"path": str(path), "relative": f"{content_dir.name}/{office}/{path.name}",
             "text": path.read_text(encoding="utf-8")}
    return _page(draft)
