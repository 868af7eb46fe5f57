"""`kb index --watch`: keep the index in step with the content folder, building again after every change.

A fresh `kb index` spends about 2 s at 10 000 articles before it builds anything
(interpreter, imports, model, parse cache file). The watcher pays that once, keeps
the model and the parse cache in memory, and runs an incremental build as soon as
a file under the content folder changes; the web service picks the new version up
within a second. Changes are seen through inotify (watchdog), or by scanning the
folder (`poll=True`) where inotify does not see them, e.g. on a network share
written by another machine. Between builds the watcher trusts those events: only
the files (and folders) they name are looked at again, every file at least every
FULL_SCAN_S; an edit of article files is patched into the last loaded corpus
(kb/loader.py) rather than loading the whole folder from the cache.
"""
from __future__ import annotations

import datetime as dt
import gc
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from indexer.build import BuildReport, build_index
from kb.embedding.base import Encoder
from kb.parse_cache import ParseCache, cache_file

# A `git pull` or a save writes several files in a burst: wait until the folder has been quiet this long.
SETTLE_S = 0.1
# ... but never longer than this after the first change (a folder that never stops changing still gets built).
MAX_SETTLE_S = 5.0
# A build in between gets the changed paths from the events and trusts the parse cache for every
# other file; this often (and after a failed build) every file is stamped again, in case an event was lost.
FULL_SCAN_S = 300.0
# What counts as a change; opening and reading a file (our own build does) does not.
CHANGE_EVENTS = {"created", "deleted", "modified", "moved", "closed"}


def ignored(rel_path: str) -> bool:
    """Files whose changes do not matter: git's folder, hidden files and editors' swap and backup files."""
    parts = Path(rel_path).parts
    return any(part.startswith(".") for part in parts) or rel_path.endswith(("~", ".swp", ".tmp"))


@dataclass
class Changes:
    """Paths changed since the last build, filled by the observer's thread and taken by the build loop."""

    paths: set[str] = field(default_factory=set)
    first: float | None = None     # monotonic time of the first change not built yet
    last: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    event: threading.Event = field(default_factory=threading.Event)

    def add(self, rel_path: str) -> None:
        """Note one changed path (called from the observer's thread)."""
        if ignored(rel_path):
            return
        with self.lock:
            now = time.monotonic()
            self.paths.add(rel_path)
            self.first = self.first or now
            self.last = now
        self.event.set()

    def take(self) -> tuple[set[str], float | None]:
        """The changed paths and when the first of them changed; empties the set."""
        with self.lock:
            paths, first = self.paths, self.first
            self.paths, self.first = set(), None
            self.event.clear()
        return paths, first

    def quiet_for(self) -> float:
        """Seconds since the last change."""
        with self.lock:
            return time.monotonic() - self.last


def _observer(content_dir: Path, data_dir: Path, changes: Changes, poll: bool, poll_interval: float):
    """A started watchdog observer that reports every change under the content folder to `changes`."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    root, own = str(content_dir), str(data_dir.resolve())

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.event_type not in CHANGE_EVENTS or (event.is_directory and event.event_type == "modified"):
                return   # a folder is "modified" when a file in it is: that file is reported itself
            for path in (event.src_path, getattr(event, "dest_path", "")):
                # The data folder inside the content folder would make every build trigger the next.
                if path and path.startswith(root) and not path.startswith(own):
                    changes.add(path[len(root):].lstrip("/") or ".")

    observer = PollingObserver(timeout=poll_interval) if poll else Observer()
    observer.schedule(Handler(), root, recursive=True)
    observer.start()
    return observer


def watch(content_dir: str | Path, data_dir: str | Path, encoder: Encoder, *, on_build: Callable,
          on_error: Callable[[BaseException], None], stop: threading.Event | None = None, poll: bool = False,
          poll_interval: float = 1.0, today: Callable[[], dt.date] = dt.date.today, first_full: bool = False,
          **build_options) -> None:
    """Build once, then after every change until `stop` is set.

    `on_build(report, changed_paths, seconds_since_first_change)` is called after each build;
    `on_error(exc)` when a build fails: the version served stays the previous one and the
    watcher goes on (the next change, or the next look, tries again).
    """
    content_dir, data_dir = Path(content_dir).resolve(), Path(data_dir)
    stop = stop or threading.Event()
    cache = ParseCache.load(cache_file(data_dir))
    changes = Changes()
    # Started before the first build, so no edit made during it is missed.
    observer = _observer(content_dir, data_dir, changes, poll, poll_interval)
    try:
        pending: set[str] = set()
        first: float | None = time.monotonic()
        full = first_full
        scanned = -FULL_SCAN_S   # when every file was last stamped (never yet)
        collected = -FULL_SCAN_S   # when the whole heap was last collected (settle_heap)
        while not stop.is_set():
            if first is not None:
                started = time.monotonic()
                trust = pending and "." not in pending and started - scanned < FULL_SCAN_S
                # The loader's paths start with the content folder's name (kb/loader.py).
                cache.changed = {f"{content_dir.name}/{path}" for path in pending} if trust else None
                try:
                    report = build_index(content_dir, data_dir, encoder, full=full, today=today(),
                                         parse_cache=cache, **build_options)
                    full = False
                    scanned = scanned if trust else started
                except Exception as exc:   # noqa: BLE001 - any failure: keep serving the old version, keep watching
                    scanned = -FULL_SCAN_S   # what the failed build read is not trusted: stamp everything next time
                    on_error(exc)
                else:
                    on_build(report, pending, time.monotonic() - first)
                finally:
                    cache.changed = None
                full_collect = started - collected >= FULL_SCAN_S
                settle_heap(full_collect)
                collected = started if full_collect else collected
            pending, first = _next_changes(changes, stop)
    finally:
        observer.stop()
        observer.join(timeout=5)
        gc.unfreeze()   # what settle_heap froze is the caller's to collect again


def settle_heap(full_collect: bool) -> None:
    """Collect what the last build left and freeze the rest, so the next build's collections skip it.

    The watcher holds the parsed corpus, millions of objects at 100 000 articles: the collector's
    passes over all of them took 0.3 s of every build. Frozen objects are not looked at again; a
    cycle of garbage among them waits for the next full collection (every FULL_SCAN_S, 0.4-1 s).
    """
    if full_collect:
        gc.unfreeze()
        gc.collect()
    else:
        gc.collect(1)   # the young generations only: what the build just made
    gc.freeze()


def _next_changes(changes: Changes, stop: threading.Event) -> tuple[set[str], float | None]:
    """Wait for a change, then for the folder to be quiet; (paths, time of the first change), or (set(), None)."""
    while not stop.is_set():
        if not changes.event.wait(timeout=0.5):
            continue
        waited = time.monotonic()
        while changes.quiet_for() < SETTLE_S and time.monotonic() - waited < MAX_SETTLE_S and not stop.is_set():
            time.sleep(SETTLE_S / 3)
        paths, first = changes.take()
        if paths:
            return paths, first
    return set(), None
