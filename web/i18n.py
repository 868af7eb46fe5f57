"""UI language: Swedish by default, Finnish and English via Flask-Babel, the choice kept in a cookie."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, redirect, request
from flask_babel import Babel, get_locale

from web.security import safe_path

LANGUAGES = {"sv": "Svenska", "fi": "Suomi", "en": "English"}   # each in its own language
DEFAULT = "sv"
COOKIE = "kb_lang"
ONE_YEAR = 365 * 24 * 3600

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The language the user chose, else Swedish."""
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT


def current_language() -> str:
    """The language code the current page is rendered in."""
    return str(get_locale() or DEFAULT)


def init_app(app: Flask) -> None:
    """Set up Babel with our catalogs and the language switch route."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Stockholm")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations"))
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.context_processor(lambda: {"languages": LANGUAGES, "current_language": current_language()})


@bp.post("/sprak")
def choose_language():
    """Remember the chosen UI language and go back to the page the user was on."""
    language = request.form.get("lang", "")
    response = redirect(safe_path(request.form.get("next"), "/"), code=303)
    if language in LANGUAGES:
        response.set_cookie(COOKIE, language, max_age=ONE_YEAR, httponly=True, samesite="Lax",
                            secure=current_app.config["KB_SECURE_COOKIES"])
    return response
