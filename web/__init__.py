"""The Flask application: resident pages (public), the handler workspace (handler) and the JSON API (api).

The command-line entry point `kb` lives in web/cli.py; the gunicorn entry point in web/wsgi.py.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: settings from kb/settings.py (KB_* variables), then `test_config` on top."""
    # Imported here, not at the top: `kb index` imports this package for its entry point
    # (web/cli.py) and should not pay for Flask.
    from flask import Flask

    app = Flask(__name__)
    from web import accounts, api, auth, config, editor, engine, errors, events, handler, i18n, present, public, security

    config.configure(app, test_config)
    from web import health, logsetup, metrics
    logsetup.init_app(app)   # first: every later hook's log lines carry the request id
    metrics.init_app(app)
    health.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    accounts.init_app(app)
    engine.init_app(app)
    auth.init_app(app)
    from web import limits, sso
    sso.init_app(app)
    errors.init_app(app)
    present.init_app(app)
    events.init_app(app)
    editor.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(handler.bp)
    app.register_blueprint(api.bp)
    limits.init_app(app)   # after every blueprint: it attaches limits to their endpoints
    return app
