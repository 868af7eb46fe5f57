"""Login, logout and who is asking: a session for people, a Bearer token for API clients."""
from __future__ import annotations

import functools
import time

from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from web import accounts, sso
from web.errors import wants_json
from web.limits import get_throttle
from web.security import safe_path

bp = Blueprint("auth", __name__)
WORKSPACE_ROLES = accounts.ROLES   # every role may use the handler workspace


def init_app(app: Flask) -> None:
    """Identify the user before each request and add the login routes."""
    app.before_request(load_user)
    app.register_blueprint(bp)
    app.context_processor(lambda: {"current_user": g.get("user")})


def load_user() -> None:
    """Set g.user from a valid session or (for the API) a Bearer token; note an expired session."""
    g.user = None
    g.session_expired = False
    g.via_token = False
    g.sso_denied = False
    vouched = sso.proxy_user()
    if vouched is not None:
        # The trusted proxy has signed the user in; its word replaces any session.
        g.sso_denied = vouched is sso.DENIED
        g.user = None if g.sso_denied else vouched
        return
    header = request.headers.get("Authorization", "")
    if header and request.path.startswith("/api/"):
        scheme, _sep, token = header.partition(" ")
        user = accounts.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            abort(401, description="invalid_token")
        g.user, g.via_token = user, True
        return
    user_id = session.get("user_id")
    if user_id is None:
        return
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    user = accounts.get_user(user_id)
    if time.time() - session.get("login_at", 0) > lifetime or user is None \
            or session.get("nonce") != user.session_nonce:
        session.clear()
        g.session_expired = True
        return
    g.user = user


def login_required(view=None, *, roles: tuple[str, ...] = WORKSPACE_ROLES):
    """Send anonymous visitors to the login page (pages) and refuse users without one of `roles` (403)."""
    if view is None:
        return functools.partial(login_required, roles=roles)

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None:
            if g.get("sso_denied"):
                abort(403)   # signed in by the proxy, but no group of the user maps to a role here
            if wants_json():
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?"),
                                    expired=1 if g.session_expired else None))
        if g.user.role not in roles:
            abort(403)
        return view(*args, **kwargs)

    wrapped.required_roles = roles   # read by the role-boundary tests, which walk every route
    return wrapped


@bp.route("/logga-in", methods=["GET", "POST"])
def login():
    """The login form; on success, a fresh session and on to the page asked for."""
    target = safe_path(request.values.get("next"), url_for("handler.workspace"))
    error, status = None, 200
    headers = {}
    if request.method == "POST":
        name = request.form.get("name", "")[:accounts.NAME_MAX]
        throttle = get_throttle()
        # A locked name or address is refused before the password is even looked at, right or wrong.
        wait = throttle.locked_for(name)
        user = None if wait else accounts.authenticate(name, request.form.get("password", "")[:1024])
        if user is not None:
            throttle.succeeded(name)
            session.clear()   # a new session at every login: nothing from before carries over
            session.permanent = True
            session.update(user_id=user.id, nonce=user.session_nonce, login_at=int(time.time()))
            return redirect(target, code=303)
        wait = wait or throttle.failed(name)
        if wait:
            minutes = max(1, -(-wait // 60))
            error = ngettext("För många misslyckade inloggningar. Vänta %(num)d minut och försök igen.",
                             "För många misslyckade inloggningar. Vänta %(num)d minuter och försök igen.", minutes)
            status, headers = 429, {"Retry-After": str(wait)}
        else:
            error, status = _("Fel användarnamn eller lösenord."), 401
    elif g.user is not None:
        return redirect(target)
    expired = request.args.get("expired") == "1" or g.session_expired
    return render_template("auth/login.html", error=error, expired=expired, next=target,
                           name=request.form.get("name", "")), status, headers


@bp.post("/logga-ut")
def logout():
    """End the session here and everywhere else the user is logged in."""
    if g.user is not None:
        accounts.end_sessions(g.user.id)
    session.clear()
    return redirect(url_for("auth.login", out=1), code=303)
