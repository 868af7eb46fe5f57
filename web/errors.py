"""Error responses: a plain page for people, JSON for /api; never a stack trace, never content."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, ServiceUnavailable

from web.engine import UNAVAILABLE

log = logging.getLogger(__name__)


class UserError(BadRequest):
    """A 400 caused by what the user sent, with a code and a message that are safe to show."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.error_code = code
        self.user_message = message


def init_app(app: Flask) -> None:
    """Register the handlers for HTTP errors, CSRF failures, a missing index and anything unexpected."""
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(HTTPException, _http)
    for exc in UNAVAILABLE:
        app.register_error_handler(exc, _unavailable)
    app.register_error_handler(Exception, _unexpected)


def _messages() -> dict[int, tuple[str, str]]:
    # (heading, explanation) per status, in the user's language.
    return {
        400: (_("Felaktig förfrågan"), _("Vi kunde inte läsa förfrågan. Kontrollera det du skrev och försök igen.")),
        401: (_("Du behöver logga in"), _("Logga in för att se den här sidan.")),
        403: (_("Ingen behörighet"), _("Ditt konto får inte visa den här sidan.")),
        404: (_("Sidan finns inte"), _("Det du söker finns inte eller har tagits bort.")),
        405: (_("Det går inte att göra så"), _("Sidan tar inte emot den här sortens förfrågan.")),
        413: (_("För mycket data"), _("Det du skickade är för stort.")),
        429: (_("För många förfrågningar"), _("Du har skickat många förfrågningar på kort tid. Vänta en liten stund "
                                             "och försök sedan igen.")),
        500: (_("Något gick fel"), _("Ett oväntat fel inträffade. Försök igen om en stund.")),
        503: (_("Tjänsten är inte tillgänglig"), _("Kunskapsbanken startar eller uppdateras. Försök igen om en stund.")),
    }


def wants_json() -> bool:
    """True for the API and the pages' .json endpoints."""
    return request.path.startswith("/api/") or request.path.endswith(".json")


def respond(status: int, code: str, message: str | None = None, headers: dict | None = None):
    """The error as JSON for the API and .json endpoints, else as the error page."""
    heading, explanation = _messages().get(status, (_("Något gick fel"), _("Försök igen om en stund.")))
    if wants_json():
        response = jsonify(error=code, message=message or explanation)
    else:
        response = render_template("error.html", status=status, heading=heading,
                                   explanation=message or explanation)
    return response, status, headers or {}


def _http(exc: HTTPException):
    status = exc.code or 500
    if status == 401:
        # Only our own fixed descriptions are used as the error code, never text from the request.
        code = "invalid_token" if exc.description == "invalid_token" else "unauthorized"
        message = (_("Ogiltig eller återkallad API-nyckel.") if code == "invalid_token"
                   else _("Logga in eller skicka en API-nyckel (Authorization: Bearer ...)."))
        return respond(401, code, message, {"WWW-Authenticate": 'Bearer realm="kunskapsbanken"'})
    if status == 429:
        # Flask-Limiter's description names the limit; the visitor gets our own words (Retry-After says when).
        return respond(429, "rate_limited")
    code = getattr(exc, "error_code", None) or (exc.name or "error").lower().replace(" ", "_")
    return respond(status, code, getattr(exc, "user_message", None))


def _csrf(exc: CSRFError):
    return respond(400, "csrf_failed", _("Formuläret hade gått ut. Ladda om sidan och försök igen."))


def _unavailable(exc: Exception):
    log.error("search not available: %s", exc)
    return respond(ServiceUnavailable.code, "unavailable")


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http(exc)
    log.exception("unexpected error on %s %s", request.method, request.path)
    return respond(InternalServerError.code, "internal_error")
