"""The forms that feed the knowledge loop: resident feedback, handler outcomes, flags and missing answers.

Plain POST forms with CSRF (Flask-WTF checks every POST), each answered by a redirect back
to the page it came from (post/redirect/get), so they work without JavaScript.
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, session, url_for
from sqlalchemy.exc import IntegrityError

from kb.schema import ID_PATTERN
from web.auth import login_required
from web.engine import get_searcher
from web.events import capture, tables
from web.security import safe_path

bp = Blueprint("events", __name__)
VOTED_KEEP = 30   # article ids remembered in the session cookie (4 kB at most); the database holds the rest


def _article(article_id: str, audience: str):
    found = get_searcher().article(article_id, audience) if ID_PATTERN.match(article_id) else None
    if found is None:
        abort(404)
    return found


def voted_on(article_id: str) -> bool:
    """True when this browser session has already answered "Fick du svar på din fråga?" for the article."""
    return article_id in session.get("voted", [])


@bp.post("/artikel/<article_id>/svar")
def feedback(article_id: str):
    """A resident's "did you get an answer?" (yes/no, optional comment); one vote per article and session."""
    article = _article(article_id, "public")
    answer = request.form.get("helped", "")
    if answer not in ("ja", "nej"):
        abort(400)
    state = "tack"
    if not voted_on(article.id):
        try:
            stored = capture.record_feedback(article, answer == "ja", request.form.get("comment", ""))
        except IntegrityError:
            stored = True   # this session voted before (the cookie list was lost): keep the first vote
        if stored:
            session["voted"] = (session.get("voted", []) + [article.id])[-VOTED_KEEP:]
        else:
            state = "fel"
    return redirect(url_for("public.article", article_id=article.id, svar=state, _anchor="feedback"), code=303)


def _back_to_article(article_id: str, state: str):
    return redirect(url_for("handler.article", article_id=article_id, q=request.form.get("q") or None,
                            sparat=state, _anchor="loop"), code=303)


@bp.post("/handlaggare/artikel/<article_id>/utfall")
@login_required
def outcome(article_id: str):
    """Record how the call ended: solved at first contact, referred (to which office), or needs a call-back."""
    article = _article(article_id, "internal")
    kind = request.form.get("outcome", "")
    referred_to = request.form.get("referred_to", "").strip() or None
    if kind not in tables.OUTCOMES:
        abort(400)
    if kind == "referred" and referred_to not in get_searcher().snapshot.offices:
        return _back_to_article(article.id, "valj-kontor")
    stored = capture.record_outcome(article, kind, referred_to, request.form.get("q", ""))
    return _back_to_article(article.id, "utfall" if stored else "fel")


@bp.post("/handlaggare/artikel/<article_id>/flagga")
@login_required
def flag(article_id: str):
    """Flag an article as wrong, outdated or unclear, with a reason; it reaches the article's office."""
    article = _article(article_id, "internal")
    kind = request.form.get("kind", "")
    if kind not in tables.FLAG_KINDS:
        abort(400)
    stored = capture.record_flag(article, kind, request.form.get("reason", ""))
    return _back_to_article(article.id, "flagga" if stored else "fel")


@bp.post("/handlaggare/saknat-svar")
@login_required
def missing():
    """Report a question nothing in the knowledge bank answers."""
    question = request.form.get("question", "").strip()
    office = request.form.get("office", "").strip() or None
    if office is not None and office not in get_searcher().snapshot.offices:
        office = None
    target = safe_path(request.form.get("next"), url_for("handler.workspace"))
    if not question:
        state = "tom-fraga"
    else:
        state = "saknat" if capture.record_missing(question, request.form.get("note", ""), office) else "fel"
    joiner = "&" if "?" in target else "?"
    return redirect(f"{target}{joiner}sparat={state}#missing", code=303)
