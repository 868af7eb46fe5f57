"""`kb index --watch`: an edit saved under the content folder is searchable moments later, without a new process."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from indexer import versions
from indexer.build import build_index
from indexer.watch import ignored, watch
from search.searcher import Searcher
from tests.conftest import TODAY

NEW_TEXT = "Från och med januari hämtas grovsopor också på lördagar i Kvarnholmsparken."


class Watcher:
    """watch() in a thread, its builds and errors in queues."""

    def __init__(self, content, data_dir, encoder, **options):
        self.builds: queue.Queue = queue.Queue()
        self.errors: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=watch, args=(content, data_dir, encoder), daemon=True, kwargs=dict(
            on_build=lambda report, paths, latency: self.builds.put((report, paths)),
            on_error=self.errors.put, stop=self.stop, today=lambda: TODAY, **options))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the watcher did not stop"

    def next_build(self, timeout=60):
        return self.builds.get(timeout=timeout)


def _edit(content: Path) -> Path:
    path = content / "avfall" / "missad-hamtning.md"
    path.write_text(path.read_text(encoding="utf-8") + f"\n{NEW_TEXT}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
def test_an_edit_is_searchable_after_the_watcher_s_next_build(tmp_path, content_copy, encoder, poll):
    data_dir = tmp_path / "data"
    with Watcher(content_copy, data_dir, encoder, poll=poll, poll_interval=0.2) as watcher:
        first, _ = watcher.next_build()
        searcher = Searcher(data_dir, encoder, today=TODAY)
        assert "missad-hamtning" not in [h.id for h in searcher.search("grovsopor lördagar Kvarnholmsparken").hits[:1]]
        _edit(content_copy)
        report, paths = watcher.next_build()
        assert paths == {"avfall/missad-hamtning.md"}
        assert 0 < report.embedded < first.chunks   # only the edited article
        assert watcher.builds.empty() and watcher.errors.empty()
    fresh = Searcher(data_dir, encoder, today=TODAY)
    assert fresh.search("grovsopor lördagar Kvarnholmsparken", method="keyword").hits[0].id == "missad-hamtning"


def test_a_broken_file_is_reported_and_the_rest_still_served(tmp_path, content_copy, encoder):
    data_dir = tmp_path / "data"
    with Watcher(content_copy, data_dir, encoder) as watcher:
        watcher.next_build()
        (content_copy / "avfall" / "trasig.md").write_text("---\nid: trasig\ntitle: [\n---\nText\n", encoding="utf-8")
        report, paths = watcher.next_build()
        assert paths == {"avfall/trasig.md"}
        assert report.errors == 1 and any(issue.startswith("content/avfall/trasig.md:") for issue in report.issues)
    assert Searcher(data_dir, encoder, today=TODAY).search("missad sophämtning").hits


def test_after_edits_the_watcher_s_version_is_the_one_a_fresh_build_makes(tmp_path, content_copy, encoder):
    """The watcher keeps its corpus and the digests of its articles between builds: none may go stale."""
    data_dir = tmp_path / "data"
    with Watcher(content_copy, data_dir, encoder) as watcher:
        watcher.next_build()
        _edit(content_copy)
        watcher.next_build()
        (content_copy / "avfall" / "kompost.md").write_text(
            "---\nid: kompost\ntitle: Får jag kompostera?\noffice: avfall\n---\nJa, på den egna tomten.\n",
            encoding="utf-8")
        watcher.next_build()
        path = content_copy / "avfall" / "kompost.md"
        path.write_text(path.read_text(encoding="utf-8").replace("egna tomten", "egna tomten i en sluten behållare"),
                        encoding="utf-8")
        report, paths = watcher.next_build()
        assert paths == {"avfall/kompost.md"} and report.embedded > 0
    fresh = tmp_path / "fresh"
    build_index(content_copy, fresh, encoder, today=TODAY, full=True)
    ours, theirs = versions.current_version(data_dir), versions.current_version(fresh)
    for name in ("digests.json", "articles.jsonl", "article_columns.json"):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    hits = Searcher(data_dir, encoder, today=TODAY).search("sluten behållare kompost", method="keyword").hits
    assert hits[0].id == "kompost"


class FailingOnce:
    """The real encoder, whose next passage batch fails when armed (a full disk, a killed thread pool...)."""

    def __init__(self, encoder):
        self.encoder, self.armed = encoder, False

    def __getattr__(self, name):
        return getattr(self.encoder, name)

    def encode_with_sparse(self, *args, **kwargs):
        if self.armed:
            self.armed = False
            raise RuntimeError("simulated failure")
        return self.encoder.encode_with_sparse(*args, **kwargs)


def test_a_failed_build_keeps_the_served_version_and_the_watcher_goes_on(tmp_path, content_copy, encoder):
    data_dir = tmp_path / "data"
    failing = FailingOnce(encoder)
    with Watcher(content_copy, data_dir, failing) as watcher:
        watcher.next_build()
        served = versions.current_version(data_dir)
        failing.armed = True
        path = _edit(content_copy)
        assert "simulated failure" in str(watcher.errors.get(timeout=60))
        assert versions.current_version(data_dir) == served
        path.write_text(path.read_text(encoding="utf-8") + "\nÄnnu en rad.\n", encoding="utf-8")
        report, _ = watcher.next_build()
        assert versions.current_version(data_dir).name == report.version != served.name
    hits = Searcher(data_dir, encoder, today=TODAY).search("grovsopor lördagar Kvarnholmsparken", method="keyword")
    assert hits.hits[0].id == "missad-hamtning"


def test_git_editor_and_hidden_files_do_not_count_as_changes():
    assert ignored(".git/index") and ignored("avfall/.missad-hamtning.md.swp") and ignored("avfall/a.md~")
    assert not ignored("avfall/missad-hamtning.md") and not ignored("avfall/_office.yaml")


def test_kb_index_watch_stops_cleanly_on_sigterm(tmp_path, content_copy):
    env = os.environ | {"KB_CONTENT_DIR": str(content_copy), "KB_DATA_DIR": str(tmp_path / "data"),
                        "KB_TODAY": TODAY.isoformat(), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([str(Path(sys.executable).with_name("kb")), "index", "--watch"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert "(first build)" in lines[0] and "watching" in lines[1], lines
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()


def test_kb_index_watch_refuses_a_missing_content_folder(tmp_path, runner, kb_cli):
    result = runner.invoke(kb_cli, ["--content-dir", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path / "data"),
                                    "index", "--watch"])
    assert result.exit_code == 1 and "does not exist: nothing to watch" in result.output
