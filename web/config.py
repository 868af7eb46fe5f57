"""Flask configuration from the one settings table (kb/settings.py), plus the clock the pages use."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, current_app

from kb.hours import STOCKHOLM, now_in_stockholm
from kb.settings import BY_NAME, SETTINGS, env_name, load_settings, parse_value


def configure(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Put every setting in app.config under its KB_* name, then apply `test_config` (validated the same way)."""
    app.config.from_mapping({env_name(name): value for name, value in load_settings().items()})
    app.config.from_mapping(MAX_CONTENT_LENGTH=64 * 1024)   # no form here needs more; bigger bodies get a 413
    app.json.ensure_ascii = False   # Swedish and Finnish text as it is, not as \u escapes
    for key, value in (test_config or {}).items():
        name = key[3:].lower() if key.startswith("KB_") else None
        app.config[key] = parse_value(name, value) if name in BY_NAME else value


def kb_settings(app: Flask | None = None) -> dict[str, Any]:
    """The settings as the rest of the code base knows them: {name: value}."""
    config = (app or current_app).config
    return {s.name: config[env_name(s.name)] for s in SETTINGS}


def now() -> dt.datetime:
    """Current Stockholm time; the date is KB_TODAY's when set (demos), tests may set CLOCK."""
    clock = current_app.config.get("CLOCK")
    if clock is not None:
        return clock().astimezone(STOCKHOLM)
    moment = now_in_stockholm()
    fixed = current_app.config.get("KB_TODAY")
    if fixed:
        moment = dt.datetime.combine(dt.date.fromisoformat(fixed), moment.timetz())
    return moment


def today() -> dt.date:
    """Today's date in Stockholm, as `now()` sees it."""
    return now().date()
