"""gunicorn settings for Kunskapsbanken: `.venv/bin/gunicorn -c gunicorn.conf.py web.wsgi:app`.

The app reads its own settings from KB_* variables (`kb settings`). Override these on the
command line (`--bind 0.0.0.0:8000 --workers 3`) or with GUNICORN_CMD_ARGS. docs/operations.md
explains the choices.
"""
import os
import shutil
import sys
import tempfile

# One torch thread per query: concurrency comes from workers and threads, and two intra-op
# threads per query on a busy 2-core machine were measured 20x slower (spinning threads
# waiting for each other). Set KB_TORCH_THREADS to override.
os.environ.setdefault("KB_TORCH_THREADS", "1")

# Prometheus multiprocess mode: each worker writes its counters to files here and /metrics sums them.
# It must be set before prometheus_client is imported, i.e. before the app is preloaded below.
# Only when gunicorn itself reads this file (it may read it twice), not when a test imports it.
if __name__ == "__config__" and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["KB_OWN_METRICS_DIR"] = tempfile.mkdtemp(prefix="kb-metrics-")

bind = "127.0.0.1:8000"
# Each worker holds its own index and query cache; the model's weights are loaded once in the master
# (on_starting) and shared with the workers copy-on-write. Two workers fit a 2-core machine; more
# cores: about one worker per core.
workers = 2
worker_class = "gthread"
threads = 4
# Import the app (Flask, torch, our code) and load the model once in the master, so workers share those pages.
preload_app = True
# A search takes well under a second; a worker silent for 60 s is stuck and is replaced.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Replace workers now and then (with jitter, so not all at once): bounds any slow growth of memory.
max_requests = 20000
max_requests_jitter = 2000
# The app writes its own access line (logger kb.access, JSON, path without query string, request id);
# gunicorn's is off. With --access-logfile - it comes back in this path-only format.
accesslog = None
# The path without its query string and no Referer: a question (q=...) may hold personal data, and
# nothing unredacted may reach a log (docs/web.md, "The event store and redaction").
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)sus "%(a)s"'
errorlog = "-"
loglevel = "info"
# gunicorn's and the app's log lines as JSON, one object per line (web/logsetup.py).
try:
    from web.logsetup import LOGGING as logconfig_dict
except ImportError:   # run from outside the project: plain gunicorn logging
    pass


def on_starting(server):
    """Refuse to start without a valid index or model (clear message, exit 1); load the model once here."""
    from indexer.versions import NoIndex, current_version
    from kb.embedding.factory import encoder_from_settings
    from web.config import kb_settings
    from web.engine import UNAVAILABLE

    app = server.app.wsgi()
    settings = kb_settings(app)
    try:
        version = current_version(settings["data_dir"])
        app.config.setdefault("ENCODER", encoder_from_settings(settings))
    except (NoIndex, *UNAVAILABLE) as exc:
        server.log.error("Kunskapsbanken cannot start: %s", exc)
        on_exit(server)   # gunicorn does not call it when start-up fails
        sys.exit(1)
    server.log.info("Index version %s; model %s loaded once in the master", version.name, settings["embedding_model"])


def post_worker_init(worker):
    """Give the worker its own database connections and open the index before it takes requests."""
    from web import accounts, events
    from web.engine import UNAVAILABLE, get_searcher

    app = worker.wsgi
    accounts.after_fork(app)
    events.after_fork(app)
    with app.app_context():
        try:
            searcher = get_searcher()
        except UNAVAILABLE as exc:
            worker.log.error("Kunskapsbanken cannot start: %s", exc)
            sys.exit(3)   # gunicorn's "worker failed to boot": the master stops instead of retrying forever
    worker.log.info("Worker serving index %s (%d articles)", searcher.snapshot.version,
                    len(searcher.snapshot.articles))


def child_exit(server, worker):
    """Forget a dead worker's live gauges (its counters stay in the sums)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics folder this config created."""
    if os.environ.get("KB_OWN_METRICS_DIR"):
        shutil.rmtree(os.environ["KB_OWN_METRICS_DIR"], ignore_errors=True)
