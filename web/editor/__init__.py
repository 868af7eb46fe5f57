"""The editors' and office contacts' pages (/redaktion/): the gap queue, articles due for review, reports.

Each page lives in a module of its own (gaps.py, review.py, reports.py) registering its routes on
this one blueprint; every route here is for editors and admins only.
"""
from __future__ import annotations

from flask import Blueprint, render_template

from web.auth import login_required

bp = Blueprint("editor", __name__, url_prefix="/redaktion")
EDITOR_ROLES = ("editor", "admin")


def editor_required(view):
    """Editors and admins only: anonymous visitors are sent to log in, handlers get 403."""
    return login_required(view, roles=EDITOR_ROLES)


@bp.get("/")
@editor_required
def index():
    """The editor's start page: links to the gap queue, the review list and the reports."""
    return render_template("editor/index.html")


# (endpoint, label) of each editor page, in menu order; page modules append themselves on import.
LINKS: list[tuple[str, str]] = []


def add_link(endpoint: str, label: str) -> None:
    """Put a page in the editor menu (label: a Swedish UI string, translated at render time)."""
    if (endpoint, label) not in LINKS:
        LINKS.append((endpoint, label))


def init_app(app) -> None:
    """Register the editor pages (the page modules add their routes to `bp` on import)."""
    from flask_babel import gettext

    from web.editor import pages   # noqa: F401 - imports the page modules

    app.register_blueprint(bp)
    app.context_processor(lambda: {"editor_links": lambda: [(e, gettext(label)) for e, label in LINKS]})
