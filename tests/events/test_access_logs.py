"""Access logs never carry the question: gunicorn's format and `kb serve`'s handler log the path only."""
from __future__ import annotations

import logging
import runpy

from tests.conftest import ROOT


def test_gunicorn_access_log_has_no_query_string_or_referer():
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    line = settings["access_log_format"]
    assert "%(U)s" in line
    for leaky in ("%(r)s", "%(q)s", "%(f)s", "%({"):
        assert leaky not in line


def test_development_server_logs_the_path_only(caplog):
    from web.commands import _path_only_log

    handler_class = _path_only_log()
    handler = handler_class.__new__(handler_class)   # just enough of a request to log it
    handler.command, handler.request_version, handler.client_address = "GET", "HTTP/1.1", ("127.0.0.1", 0)
    handler.path = handler.requestline = "/sok?q=850101-1234"
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        handler.log_request(200, 10)
    assert "GET /sok HTTP/1.1" in caplog.text and "850101" not in caplog.text
