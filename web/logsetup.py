"""Structured logs: one JSON object per line, with a request id, and no personal data.

Every request gets an id (a safe X-Request-ID from the proxy, else a new one), returned in the
X-Request-ID header and written on each line logged while it is answered. The access line
(logger `kb.access`) has the path without its query string, the status and the duration.
Whatever is logged while a request is answered (message, path, exception) passes through
kb/redact.py on its way out, in case anything query-like slipped in.
gunicorn.conf.py installs `LOGGING`; `configure()` does the same for any other server.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import logging.config
import re
import time
import traceback
import uuid

from flask import Flask, g, has_request_context, request

from kb.redact import redact

access_log = logging.getLogger("kb.access")
# What we accept as a request id from a proxy: short, and nothing that could carry a question.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
FIELDS = ("request_id", "method", "path", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request fields; request-borne text redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            # Said while answering someone: it may quote what they sent. (Start-up lines keep their numbers.)
            entry["message"] = redact(entry["message"])
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is None and name == "request_id" and has_request_context():
                value = g.get("request_id")
            if value is not None:
                entry[name] = redact(value) if name == "path" else value
        if record.exc_info:
            # The traceback names code lines; its last line may quote input, so it is redacted too.
            entry["exception"] = redact("".join(traceback.format_exception(*record.exc_info)))
        return json.dumps(entry, ensure_ascii=False)


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        # gunicorn's own messages (booting, worker timeouts) in the same format, through the root handler.
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        # The app writes the access line itself (kb.access, with the request id): gunicorn's would repeat it.
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        "werkzeug": {"level": "WARNING"},
        "alembic": {"level": "WARNING"},
        "faiss": {"level": "WARNING"},
    },
}


def configure(level: str = "INFO") -> None:
    """Send every log record to standard error as JSON lines (for servers other than gunicorn.conf.py)."""
    config = copy.deepcopy(LOGGING)
    config["root"]["level"] = level
    logging.config.dictConfig(config)


def init_app(app: Flask) -> None:
    """Give each request an id and log one access line when it is answered."""
    app.before_request(_begin)
    app.after_request(_access)


def _begin() -> None:
    offered = request.headers.get("X-Request-ID", "")
    # A proxy's id is kept only if it is harmless: a personnummer is a valid-looking token too.
    g.request_id = offered if REQUEST_ID.match(offered) and redact(offered) == offered else uuid.uuid4().hex
    g.log_started = time.perf_counter()


def _access(response):
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-ID"] = request_id
        started = g.get("log_started", time.perf_counter())
        # request.path never holds the query string (q=... is where a question would be).
        access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "request_id": request_id, "method": request.method, "path": request.path,
            "status": response.status_code, "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
    return response
