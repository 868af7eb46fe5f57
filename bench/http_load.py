"""HTTP throughput and latency under concurrency against gunicorn with the production settings.

gunicorn is started with gunicorn.conf.py (2 gthread workers x 4 threads,
preload, model loaded per worker) on a free loopback port, over a built data
folder. The client is ours, in Python: N threads, each with its own keep-alive
connection, send GET /api/v1/search?q=... (the public JSON API, so the event
store records every search as in production) until a fixed number of requests
is done or a time limit passes. Only 127.0.0.1 is ever addressed. Per-client rate
limits are switched off (KB_RATE_LIMITS=false): all requests come from one address. Each request
carries a different query, so the per-process query-embedding cache does not
flatter the figures.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from bench.quality import percentile
from kb.settings import BY_NAME, PROJECT_ROOT

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, timeout: float = 30.0) -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def search_path(query: str) -> str:
    """The API request for one query."""
    return "/api/v1/search?" + urllib.parse.urlencode({"q": query, "k": 10})


class Gunicorn:
    """gunicorn -c gunicorn.conf.py web.wsgi:app over `data_dir`, started and stopped by this object."""

    def __init__(self, data_dir: Path, content_dir: Path, model_cache: str, workers: int | None = None,
                 hashed: bool = False, query_precision: str = BY_NAME["query_precision"].default):
        self.port = free_port()
        self.hashed = hashed
        self.env = dict(os.environ, KB_DATA_DIR=str(data_dir), KB_CONTENT_DIR=str(content_dir),
                        KB_MODEL_CACHE=model_cache, HF_HUB_OFFLINE="1", KB_QUERY_PRECISION=query_precision,
                        # One load generator is one client address: the per-client limits would answer 429
                        # and measure the limiter, not the search. The limiter's own cost stays in.
                        KB_RATE_LIMITS="false")
        self.workers = workers
        self.process: subprocess.Popen | None = None
        self.startup_s = 0.0

    def __enter__(self) -> "Gunicorn":
        # With hashed corpus vectors (bench/hashed.py) gunicorn runs under the wrapper's launcher.
        gunicorn = [sys.executable, "-m", "bench.hashed", "gunicorn"] if self.hashed \
            else [str(Path(sys.executable).with_name("gunicorn"))]
        command = gunicorn + ["-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "--bind", f"{HOST}:{self.port}",
                   "--access-logfile", "/dev/null", "web.wsgi:app"]
        if self.workers:
            command += ["--workers", str(self.workers)]
        started = time.time()
        # The log goes to a file: an undrained pipe fills up (64 KiB of JSON log lines, a few hundred
        # requests) and then blocks every worker that writes to it, which looked like a hung server.
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=self.log, start_new_session=True)
        deadline = started + 300
        while time.time() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"gunicorn exited: {self.log.read().decode(errors='replace')[-2000:]}")
            try:
                if _get(self.port, search_path("uppstart"), timeout=60) == 200:
                    self.startup_s = round(time.time() - started, 2)
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer within 300 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def load(port: int, queries: list[str], concurrency: int, max_seconds: float = 120.0) -> dict:
    """Send every query once with `concurrency` clients; requests/s, latency percentiles, error count."""
    lock = threading.Lock()
    pending = iter(queries)
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + max_seconds

    def client() -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        while time.perf_counter() < deadline:
            with lock:
                query = next(pending, None)
            if query is None:
                break
            started = time.perf_counter()
            try:
                connection.request("GET", search_path(query))
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors.append(str(status))
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"concurrency": concurrency, "requests": len(latencies), "seconds": round(seconds, 2),
            "requests_per_s": round(len(latencies) / seconds, 1) if seconds else 0.0,
            "p50_ms": round(percentile(latencies, 50), 1), "p95_ms": round(percentile(latencies, 95), 1),
            "p99_ms": round(percentile(latencies, 99), 1), "errors": len(errors),
            "error_kinds": sorted(set(errors))[:5]}


def http_benchmark(data_dir: Path, content_dir: Path, model_cache: str, queries: list[str],
                   levels: tuple[int, ...] = (1, 8, 32), per_level: int = 300, max_seconds: float = 120.0,
                   hashed: bool = False, query_precision: str = BY_NAME["query_precision"].default) -> dict:
    """Start gunicorn once and load it at each concurrency level with fresh queries per level."""
    results = []
    with Gunicorn(data_dir, content_dir, model_cache, hashed=hashed, query_precision=query_precision) as server:
        for number, concurrency in enumerate(levels):
            batch = queries[number * per_level:(number + 1) * per_level] or queries[:per_level]
            results.append(load(server.port, batch, concurrency, max_seconds))
        startup = server.startup_s
    return {"startup_s": startup, "levels": results, "workers": "gunicorn.conf.py (2 gthread x 4)"}
