"""gunicorn settings for Kunskapsbanken: `.venv/bin/gunicorn -c gunicorn.conf.py web.wsgi:app`.

The app reads its own settings from KB_* variables (`kb settings`). Override these on the
command line (`--bind 0.0.0.0:8000 --workers 3`) or with GUNICORN_CMD_ARGS.
"""
import os

# One torch thread per query: concurrency comes from workers and threads, and two intra-op
# threads per query on a busy 2-core machine were measured 20x slower (spinning threads
# waiting for each other). Set KB_TORCH_THREADS to override.
os.environ.setdefault("KB_TORCH_THREADS", "1")

bind = "127.0.0.1:8000"
# Each worker holds its own copy of the model and index (a few hundred MB); two fit a 2-core machine.
workers = 2
worker_class = "gthread"
threads = 4
# Import the app (Flask, torch, our code) once in the master, so workers share those pages.
# The model itself is loaded in each worker after the fork (post_worker_init): torch's
# thread pools must not be started before a fork.
preload_app = True
timeout = 60
graceful_timeout = 30
accesslog = "-"
# The path without its query string and no Referer: a question (q=...) may hold personal data, and
# nothing unredacted may reach a log (docs/web.md, "The event store and redaction").
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)sus "%(a)s"'
errorlog = "-"


def post_worker_init(worker):
    """Give the worker its own database connections and load the model and index before it takes requests."""
    from web import accounts, events
    from web.engine import get_searcher

    app = worker.wsgi
    accounts.after_fork(app)
    events.after_fork(app)
    with app.app_context():
        get_searcher()
