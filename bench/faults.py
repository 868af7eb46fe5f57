"""`kill -9` of index builds at random moments, for tests/ops and `make soak`.

A helper process (the "zygote") loads the model once, then forks one child per build and
kills it with SIGKILL after the delay it is told, so many trials cost one model load. The
zygote kills only its own unreaped child, never a pid that might have been reused. After each
trial the caller checks that a Searcher opens an intact version and answers.

    python -m bench.faults zygote CONTENT_DIR DATA_DIR     (reads "build full|incremental DELAY" lines)
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Trial:
    """What one killed (or finished) build left behind."""

    number: int
    full: bool
    delay: float
    killed: bool
    seconds: float
    version_before: str
    version_after: str
    answered: bool


def zygote(content_dir: str, data_dir: str) -> None:
    """Serve build requests from stdin: fork a build, kill it after DELAY seconds (unless done), report."""
    import datetime as dt

    from indexer.build import build_index
    from kb.embedding.factory import encoder_from_settings
    from kb.settings import load_settings

    settings = load_settings()
    encoder = encoder_from_settings(settings)
    today = dt.date.fromisoformat(settings["today"]) if settings["today"] else None
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        kind, delay = line.split()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:   # the build; it runs until done or killed
            code = 1
            try:
                build_index(content_dir, data_dir, encoder, full=kind == "full", today=today)
                code = 0
            finally:
                os._exit(code)
        deadline = started + float(delay)
        status = None
        while status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = raw
            elif time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)   # still our unreaped child: the pid cannot belong to anyone else
                status = os.waitpid(pid, 0)[1]
            else:
                time.sleep(0.005)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        print(json.dumps({"killed": killed, "exit": os.waitstatus_to_exitcode(status),
                          "seconds": time.monotonic() - started}), flush=True)


class Zygote:
    """The helper process, started with the given environment (KB_* settings)."""

    def __init__(self, content_dir: Path, data_dir: Path, env: dict | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.faults", "zygote", str(content_dir), str(data_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env or os.environ.copy())
        ready = self.proc.stdout.readline()
        if not ready:
            raise RuntimeError("the build helper did not start (see its standard error)")

    def build(self, full: bool, delay: float) -> dict:
        """One build, killed after `delay` seconds unless it finished first."""
        self.proc.stdin.write(f"{'full' if full else 'incremental'} {delay:.4f}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        """Stop the helper (it exits when its input closes)."""
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def served_version(data_dir: Path) -> str:
    """The version a Searcher would open now ('' when none)."""
    from indexer.versions import NoIndex, current_version

    try:
        return current_version(data_dir).name
    except NoIndex:
        return ""


def run_kill_trials(content_dir: Path, data_dir: Path, encoder, *, trials: int = 10, seed: int = 7731,
                    probe: str = "parkeringstillstånd", env: dict | None = None) -> list[Trial]:
    """Build once, then `trials` builds killed at random moments, each changing the content a little.

    After every trial a fresh Searcher must open an intact version and answer `probe`.
    """
    from search.searcher import Searcher

    rng = random.Random(seed)
    helper = Zygote(content_dir, data_dir, env)
    outcomes = []
    try:
        span = {}
        for full in (True, False):   # how long each kind takes, unkilled (and two versions to fall back on)
            first = helper.build(full=full, delay=600)
            if first["exit"] != 0:
                raise RuntimeError(f"a build failed without being killed: {first}")
            # Kill moments spread over a whole build (and a little past it: some builds finish).
            span[full] = max(first["seconds"], 0.05) * 1.2
        for number in range(1, trials + 1):
            office_dir = next(p for p in sorted(content_dir.iterdir()) if p.is_dir() and not p.name.startswith("_"))
            (office_dir / f"kill-trial-{number}.md").write_text(
                f"---\nid: kill-trial-{number}\ntitle: Provartikel {number} om sophämtning\n"
                f"office: {office_dir.name}\n---\nSophämtningen provas här för gång {number}.\n", encoding="utf-8")
            before = served_version(data_dir)
            full = rng.random() < 0.3
            delay = rng.uniform(0, span[full])
            result = helper.build(full=full, delay=delay)
            after = served_version(data_dir)
            answered = bool(after) and bool(Searcher(data_dir, encoder).search(probe, k=3).hits)
            outcomes.append(Trial(number, full, round(delay, 3), result["killed"], round(result["seconds"], 3),
                                  before, after, answered))
    finally:
        helper.close()
    return outcomes


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "zygote":
        zygote(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
