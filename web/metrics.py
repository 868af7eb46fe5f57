"""Prometheus metrics at /metrics: request latency, searches by channel, no-answer rate, index, dropped events.

Under gunicorn every worker counts in its own process; with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py
does) prometheus_client keeps the values in files there and /metrics sums every worker's. The index
figures are read at scrape time from the answering worker's Searcher (all workers switch within a second).
/metrics answers only the addresses in KB_METRICS_ALLOW (loopback by default) and never through a proxy.
"""
from __future__ import annotations

import ipaddress
import threading
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

bp = Blueprint("metrics", __name__)
_EXTENSION = "kb_metrics"
# Headers a reverse proxy adds: a scrape must come straight from the monitoring host, not through the proxy.
FORWARDED_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
# Latency buckets in seconds: a search takes tens of milliseconds; a page a little more.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram("kb_http_request_duration_seconds", "Time to answer a request, by endpoint and status.",
                            ["endpoint", "status"], buckets=BUCKETS)
SEARCHES = Counter("kb_searches_total", "Searches answered, by channel (resident/handler) and source "
                   "(page/live/api).", ["channel", "source"])
NO_ANSWER = Counter("kb_searches_low_confidence_total", "Searches with no good answer (low confidence), by channel.",
                    ["channel"])
EVENTS_FAILED = Counter("kb_events_failed_total", "Event-store writes that failed (database down, bad data).")
EVENTS_DROPPED = Counter("kb_events_dropped_total", "Search events thrown away because the write queue was full.")
INDEX_SWITCHES = Counter("kb_index_refreshes_total", "Switches to a newly published index version, counted in each "
                         "worker process.")


class Recorder:
    """Per-process bookkeeping: turns the event store's running totals and index switches into counter steps."""

    def __init__(self):
        self._lock = threading.Lock()
        self._failures = 0
        self._dropped = 0
        self._version: str | None = None

    @staticmethod
    def searched(channel: str, source: str, low_confidence: bool) -> None:
        """Count one answered search (called by web/events/capture.py record_search)."""
        SEARCHES.labels(channel, source).inc()
        if low_confidence:
            NO_ANSWER.labels(channel).inc()

    def sync(self, app: Flask) -> None:
        """Add what the event store and the Searcher did since the last look to the shared counters."""
        store = app.extensions.get("kb_events")
        searcher = app.extensions.get("kb_searcher")
        with self._lock:
            if store is not None:
                # A forked worker inherits the master's totals; the step is what happened since this process looked.
                failures, dropped = store.failures, store.dropped
                if failures > self._failures:
                    EVENTS_FAILED.inc(failures - self._failures)
                if dropped > self._dropped:
                    EVENTS_DROPPED.inc(dropped - self._dropped)
                self._failures, self._dropped = failures, dropped
            if searcher is not None:
                version = searcher.snapshot.version
                if self._version is not None and version != self._version:
                    INDEX_SWITCHES.inc()
                self._version = version


class IndexCollector:
    """The answering worker's index at scrape time: version, built_at, articles and chunks."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        """Yield the index metrics (nothing about the index before the Searcher is loaded)."""
        loaded = GaugeMetricFamily("kb_index_loaded", "1 when this worker has a valid index and the model loaded.")
        searcher = self.app.extensions.get("kb_searcher")
        loaded.add_metric([], 0 if searcher is None else 1)
        yield loaded
        if searcher is None:
            return
        snapshot = searcher.snapshot
        manifest = snapshot.manifest
        info = InfoMetricFamily("kb_index", "The index version being served.")
        info.add_metric([], {"version": snapshot.version, "built_at": str(manifest.get("built_at", "")),
                             "content_commit": str(manifest.get("content_commit", ""))})
        yield info
        articles = GaugeMetricFamily("kb_index_articles", "Articles in the index version being served.")
        articles.add_metric([], len(snapshot.articles))
        yield articles
        chunks = GaugeMetricFamily("kb_index_chunks", "Passages in the index version being served.")
        chunks.add_metric([], float(manifest.get("chunks", 0)))
        yield chunks


def init_app(app: Flask) -> None:
    """Time every request, count searches and store failures, and serve /metrics to the allowed addresses."""
    app.extensions[_EXTENSION] = Recorder()
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)


def _start_timer() -> None:
    g.kb_started = time.perf_counter()


def _observe(response):
    started = g.pop("kb_started", None)
    if started is not None and request.endpoint != "metrics.metrics":
        # The endpoint name, never the URL: one series per route, whatever ids or questions are sent.
        REQUEST_SECONDS.labels(request.endpoint or "none", str(response.status_code)).observe(
            time.perf_counter() - started)
    current_app.extensions[_EXTENSION].sync(current_app)
    return response


def recorder() -> Recorder:
    """This process's Recorder."""
    return current_app.extensions[_EXTENSION]


def allowed(remote_addr: str | None, allow: str) -> bool:
    """True when the peer address is in the comma-separated list of addresses and networks."""
    try:
        peer = ipaddress.ip_address((remote_addr or "").split("%", 1)[0])
    except ValueError:
        return False
    if peer.version == 6 and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    for part in filter(None, (p.strip() for p in allow.split(","))):
        try:
            if peer in ipaddress.ip_network(part, strict=False):
                return True
        except ValueError:
            continue
    return False


@bp.get("/metrics")
def metrics():
    """The Prometheus text format; 404 to anyone not allowed, so the public does not even learn it exists."""
    # The socket's peer, before any proxy header was believed (ProxyFix keeps the original).
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR")
    if any(h in request.headers for h in FORWARDED_HEADERS) or \
            not allowed(peer, current_app.config["KB_METRICS_ALLOW"]):
        abort(404)
    recorder().sync(current_app)
    registry = CollectorRegistry()
    # prometheus_client chose its mode when it was imported; read the files only if values go to files.
    if values.ValueClass is not values.MutexValue:
        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (REQUEST_SECONDS, SEARCHES, NO_ANSWER, EVENTS_FAILED, EVENTS_DROPPED, INDEX_SWITCHES):
            registry.register(_Single(collector))
    registry.register(IndexCollector(current_app._get_current_object()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


class _Single:
    """Wraps one metric so a fresh registry can expose it without registering it twice globally."""

    def __init__(self, metric):
        self.metric = metric

    def collect(self):
        """The metric's current samples."""
        return self.metric.collect()
