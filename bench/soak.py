"""Soak test: gunicorn with the production settings on loopback, many clients searching while content changes.

During the run the index is rebuilt twice from git-committed content: first with a new article
(it must be served after the switch), then with a broken Markdown file (it must be reported and
the rest indexed). Every request must succeed. Optionally runs `kill -9` build trials after it.
Results go to docs/reliability.md. `make soak` runs the full one:

    .venv/bin/python -m bench.soak --duration 60 --clients 30 --kill-trials 30
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUERIES = ["tillstånd för parkering", "dagis kö", "hur ställer jag mitt barn i kö till förskola", "grovsopor",
           "miten haen pysäköintilupaa", "hemtjänst ansökan", "bygglov altan", "felparkeringsavgift bestrida",
           "var lämnar jag farligt avfall", "färdtjänst", "ekonomiskt bistånd", "skolskjuts"]
NEW_ID, NEW_PHRASE = "soak-ny-artikel", "Soakprov - var lämnar jag trasiga glödlampor?"
BROKEN = "---\nid: [trasig\ntitle: utan slut\n---\nDen här filen har fel i sitt huvud.\n"


@dataclass
class Stats:
    """Every request's latency and outcome, shared by the client threads."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, failure: str | None) -> None:
        """Record one request."""
        with self.lock:
            self.latencies.append(seconds)
            if failure:
                self.failures.append(failure)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _git(content: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(content), *args], check=True, capture_output=True)


def _prepare(work: Path, source: Path) -> tuple[Path, Path]:
    """A git repository copy of the content, and a data folder seeded with the newest built version."""
    content, data = work / "content", work / "data"
    shutil.copytree(source, content)
    _git(content, "init", "-q")
    _git(content, "-c", "user.name=soak", "-c", "user.email=soak@localhost", "add", "-A")
    _git(content, "-c", "user.name=soak", "-c", "user.email=soak@localhost", "commit", "-qm", "start")
    built = ROOT / "data" / "index"
    current = built / "CURRENT"
    if current.exists() and (built / "versions" / current.read_text().strip()).is_dir():
        # Seed with the project's newest version: later builds re-embed only what changed.
        name = current.read_text().strip()
        shutil.copytree(built / "versions" / name, data / "index" / "versions" / name)
        shutil.copy(current, data / "index" / "CURRENT")
    return content, data


def _commit(content: Path, path: str, text: str, message: str) -> None:
    (content / path).write_text(text, encoding="utf-8")
    _git(content, "-c", "user.name=soak", "-c", "user.email=soak@localhost", "add", "-A")
    _git(content, "-c", "user.name=soak", "-c", "user.email=soak@localhost", "commit", "-qm", message)


def _build(env: dict) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([str(BIN / "kb"), "index"], env=env, capture_output=True, text=True, timeout=900)
    return done, time.monotonic() - started


def _client(base: str, stop: threading.Event, stats: Stats, offset: int) -> None:
    session = requests.Session()
    n = offset
    while not stop.is_set():
        query = QUERIES[n % len(QUERIES)]
        url = f"{base}/api/v1/search" if n % 2 else f"{base}/sok"
        n += 1
        started = time.perf_counter()
        try:
            response = session.get(url, params={"q": query}, timeout=30)
            failure = None if response.status_code == 200 else f"HTTP {response.status_code} {url}"
        except requests.RequestException as exc:
            failure = f"{type(exc).__name__} {url}"
        stats.add(time.perf_counter() - started, failure)


def _wait_for(predicate, timeout: float) -> float | None:
    """Seconds until predicate() held, or None on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def _ready(base: str) -> dict:
    try:
        response = requests.get(f"{base}/readyz", timeout=5)
        return response.json() if response.status_code == 200 else {}
    except (requests.RequestException, ValueError):
        return {}


def soak(duration: float, clients: int, source: Path) -> dict:
    """Run the soak; returns its figures and checks."""
    work = Path(tempfile.mkdtemp(prefix="kb-soak-"))
    content, data = _prepare(work, source)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, KB_DATA_DIR=str(data), KB_CONTENT_DIR=str(content), KB_RATE_LIMITS="false",
               KB_SECRET_KEY="soak", KB_EVENTS_DATABASE_URL=f"sqlite:///{work / 'events.db'}",
               KB_DATABASE_URL=f"sqlite:///{work / 'accounts.db'}")
    env.setdefault("KB_MODEL_CACHE", str(ROOT / "data" / "models"))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done, seconds = _build(env)
    if done.returncode != 0:
        raise SystemExit(f"initial build failed: {done.stderr}")
    log = open(work / "gunicorn.log", "w")
    server = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                               "web.wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    result: dict = {"duration": duration, "clients": clients, "started": dt.datetime.now().isoformat(" ", "seconds")}
    try:
        if _wait_for(lambda: bool(_ready(base)), 300) is None:
            raise SystemExit(f"gunicorn did not become ready; see {work / 'gunicorn.log'}")
        first = _ready(base)
        stats, stop = Stats(), threading.Event()
        threads = [threading.Thread(target=_client, args=(base, stop, stats, i), daemon=True) for i in range(clients)]
        began = time.monotonic()
        for thread in threads:
            thread.start()

        time.sleep(duration / 4)
        _commit(content, "avfall/soak-ny.md", f"---\nid: {NEW_ID}\ntitle: \"{NEW_PHRASE}\"\noffice: avfall\n---\n"
                "Trasiga glödlampor lämnas på återvinningscentralen.\n", "ny artikel")
        done, build1 = _build(env)
        switch1 = _wait_for(lambda: requests.get(f"{base}/api/v1/articles/{NEW_ID}", timeout=5).status_code == 200,
                            30)
        after_first = _ready(base)

        time.sleep(max(0.0, began + duration / 2 - time.monotonic()))
        _commit(content, "avfall/trasig.md", BROKEN, "trasig fil")
        broken_build, build2 = _build(env)
        switch2 = _wait_for(lambda: _ready(base).get("index") not in ("", after_first.get("index")), 30)
        after_second = _ready(base)
        hits = requests.get(f"{base}/api/v1/search", params={"q": "trasiga glödlampor"}, timeout=10).json()["hits"]

        time.sleep(max(0.0, began + duration - time.monotonic()))
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - began
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    latencies = sorted(stats.latencies)
    quantile = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    reported = broken_build.stdout + broken_build.stderr
    result.update({
        "requests": len(latencies), "failures": len(stats.failures), "failure_examples": stats.failures[:5],
        "elapsed": elapsed, "rps": len(latencies) / elapsed,
        "p50_ms": quantile[49] * 1000, "p95_ms": quantile[94] * 1000, "p99_ms": quantile[98] * 1000,
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "build1_s": build1, "switch1_s": switch1, "build2_s": build2, "switch2_s": switch2,
        "articles": [first.get("articles"), after_first.get("articles"), after_second.get("articles")],
        "new_article_served": switch1 is not None and any(h["id"] == NEW_ID for h in hits),
        "broken_reported": "trasig.md" in reported,
        "rest_indexed": after_second.get("articles") == after_first.get("articles"),
        "second_build_exit": broken_build.returncode,
    })
    result["passed"] = (result["failures"] == 0 and result["new_article_served"] and result["broken_reported"]
                        and result["rest_indexed"] and switch2 is not None)
    shutil.rmtree(work, ignore_errors=True)
    return result


def kill_trials(trials: int, seed: int) -> list:
    """`kill -9` build trials over a copy of the test corpus (bench/faults.py)."""
    from bench.faults import run_kill_trials
    from kb.embedding.factory import encoder_from_settings
    from kb.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="kb-kill-"))
    content, data = work / "content", work / "data"
    shutil.copytree(ROOT / "tests" / "fixtures" / "content", content)
    env = dict(os.environ, KB_DATA_DIR=str(data), KB_CONTENT_DIR=str(content))
    env.setdefault("KB_MODEL_CACHE", str(ROOT / "data" / "models"))
    settings = load_settings(environ=env)
    try:
        return run_kill_trials(content, data, encoder_from_settings(settings), trials=trials, seed=seed, env=env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ms(value) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def report(result: dict, trials: list, seed: int, command: str) -> str:
    """The figures as Markdown for docs/reliability.md."""
    lines = [
        "# Reliability figures", "",
        f"Written by `bench/soak.py` on {result['started']}. Command: `{command}`.", "",
        "## Soak: searching while the content changes", "",
        f"gunicorn with `gunicorn.conf.py` (production settings) on loopback, {result['clients']} concurrent clients "
        f"(half `/sok`, half `/api/v1/search`) for {result['elapsed']:.0f} s (asked: {result['duration']:.0f} s; "
        "the load goes on until both rebuilds are served); rate limits off for the test. "
        "The index was rebuilt twice from git-committed content: a new article, then a broken Markdown file.", "",
        "| figure | value |", "| --- | --- |",
        f"| requests | {result['requests']} ({result['rps']:.1f}/s) |",
        f"| failed requests | {result['failures']} |",
        f"| latency p50 / p95 / p99 / max | {result['p50_ms']:.0f} / {result['p95_ms']:.0f} / "
        f"{result['p99_ms']:.0f} / {result['max_ms']:.0f} ms |",
        f"| rebuild 1 (new article): build, then served after | {result['build1_s']:.1f} s, "
        f"{_ms(result['switch1_s'])} |",
        f"| rebuild 2 (broken file): build, then switched after | {result['build2_s']:.1f} s, "
        f"{_ms(result['switch2_s'])} |",
        f"| articles served: start → after 1 → after 2 | {' → '.join(str(a) for a in result['articles'])} |",
        f"| new article served after the switch | {'yes' if result['new_article_served'] else 'NO'} |",
        f"| broken file reported by `kb index` | {'yes' if result['broken_reported'] else 'NO'} "
        f"(exit code {result['second_build_exit']}) |",
        f"| the rest indexed | {'yes' if result['rest_indexed'] else 'NO'} |",
        f"| **result** | **{'passed' if result['passed'] else 'FAILED'}** |", "",
    ]
    if result["failure_examples"]:
        lines += ["Failures (first five): " + "; ".join(result["failure_examples"]), ""]
    if trials:
        killed = sum(t.killed for t in trials)
        kept = sum(t.killed and t.version_after == t.version_before for t in trials)
        lines += [
            "## `kill -9` of index builds", "",
            f"{len(trials)} builds of the test corpus killed with SIGKILL at random moments (seed {seed}; "
            f"{killed} killed mid-build, {len(trials) - killed} finished first). After each a fresh Searcher opened "
            "an intact version and answered.", "",
            "| outcome | trials |", "| --- | --- |",
            f"| killed, previous version still served | {kept} |",
            f"| killed after the switch, new version served | {killed - kept} |",
            f"| finished before the kill | {len(trials) - killed} |",
            f"| left without a valid index | {sum(not t.version_after for t in trials)} |",
            f"| Searcher did not answer | {sum(not t.answered for t in trials)} |", "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the soak (and kill trials), print and write the figures; exit 1 when a check failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=30, help="concurrent clients (default 30)")
    parser.add_argument("--kill-trials", type=int, default=0, help="kill -9 build trials afterwards (default 0)")
    parser.add_argument("--seed", type=int, default=7731)
    parser.add_argument("--content", type=Path, default=ROOT / "content", help="content to serve (default content/)")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "reliability.md",
                        help="where to write the figures ('-' for nowhere)")
    args = parser.parse_args(argv)
    result = soak(args.duration, args.clients, args.content)
    trials = kill_trials(args.kill_trials, args.seed) if args.kill_trials else []
    command = "python -m bench.soak " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report(result, trials, args.seed, command.strip())
    print(text)
    if str(args.report) != "-":
        args.report.write_text(text + "\n", encoding="utf-8")
    ok = result["passed"] and all(t.answered and t.version_after for t in trials)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
