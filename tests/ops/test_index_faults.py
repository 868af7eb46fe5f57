"""Index faults: builds killed with SIGKILL at random moments, damaged or missing versions at start-up."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer import versions
from tests.conftest import FIXTURE_CONTENT, ROOT, TODAY
from tests.web.conftest import app_config


@pytest.fixture(scope="module")
def pristine_versions(encoder, tmp_path_factory):
    """A data folder with an older and a newer version (the newer one has one more article), built once."""
    from indexer.build import build_index

    content = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    data_dir = tmp_path_factory.mktemp("two") / "data"
    build_index(content, data_dir, encoder, today=TODAY)
    (content / "avfall" / "ny.md").write_text(
        "---\nid: ny-fraga\ntitle: Var lämnar jag gamla glödlampor?\noffice: avfall\n---\nPå återvinningscentralen.\n",
        encoding="utf-8")
    build_index(content, data_dir, encoder, today=TODAY)
    return data_dir


@pytest.fixture
def two_versions(pristine_versions, tmp_path):
    """A copy of the two-version data folder that a test may damage: (data_dir, older, newer)."""
    data_dir = tmp_path / "data"
    shutil.copytree(pristine_versions, data_dir)
    old, new = versions.complete_versions(data_dir)
    return data_dir, old, new


def _serves(data_dir, encoder) -> str:
    from search.searcher import Searcher

    searcher = Searcher(data_dir, encoder, today=TODAY)
    assert searcher.search("parkeringstillstånd", k=3).hits
    return searcher.snapshot.version


def test_a_truncated_file_in_the_newest_version_falls_back_to_the_last_good_one(two_versions, encoder):
    data_dir, old, new = two_versions
    with open(new / "vectors.faiss", "r+b") as handle:
        handle.truncate(100)
    assert versions.current_version(data_dir) == old
    assert _serves(data_dir, encoder) == old.name


def test_a_damaged_file_of_the_same_size_is_caught_by_its_checksum(two_versions, encoder):
    data_dir, old, new = two_versions
    segment = next(p for p in (new / "keyword").iterdir() if p.is_file() and p.stat().st_size > 10)
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    assert not versions.verify_version(new)
    assert _serves(data_dir, encoder) == old.name


@pytest.mark.parametrize("current", [None, "", "garbage\n", "../../../etc\n", "\x00\xff\xfe",
                                     "20991231T000000000000-abcdef"])
def test_a_missing_or_garbage_current_pointer_serves_the_newest_intact_version(two_versions, encoder, current):
    data_dir, _old, new = two_versions
    pointer = versions.index_root(data_dir) / "CURRENT"
    if current is None:
        pointer.unlink()
    else:
        pointer.write_bytes(current.encode("latin-1"))
    assert versions.current_version(data_dir) == new
    assert _serves(data_dir, encoder) == new.name


def test_no_intact_version_refuses_with_a_clear_message_and_readyz_says_why(two_versions, encoder, tmp_path):
    from web import create_app

    data_dir, old, new = two_versions
    for version in (old, new):
        (version / "articles.jsonl").write_text("")
    with pytest.raises(versions.NoIndex, match="run `kb index`"):
        versions.current_version(data_dir)
    app = create_app(app_config(None, data_dir, tmp_path, ENCODER=encoder))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "no_index"
    assert str(data_dir) not in response.get_data(as_text=True)   # no server paths to the public
    assert app.test_client().get("/healthz").status_code == 200   # alive, just not ready


def test_gunicorn_refuses_to_start_without_an_index(tmp_path):
    env = dict(os.environ, KB_DATA_DIR=str(tmp_path / "empty"), KB_SECRET_KEY="k",
               KB_EVENTS_DATABASE_URL=f"sqlite:///{tmp_path / 'events.db'}")
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", "127.0.0.1:0",
                           "web.wsgi:app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Kunskapsbanken cannot start" in done.stderr and "run `kb index`" in done.stderr


def test_builds_killed_at_random_moments_never_leave_the_service_without_an_index(encoder, content_copy, tmp_path):
    from bench.faults import run_kill_trials

    data_dir = tmp_path / "data"
    env = dict(os.environ, KB_DATA_DIR=str(data_dir), KB_CONTENT_DIR=str(content_copy), KB_TODAY=TODAY.isoformat())
    trials = run_kill_trials(content_copy, data_dir, encoder, trials=10, seed=7731, env=env)
    assert len(trials) == 10
    assert all(t.answered and t.version_after for t in trials), trials
    assert sum(t.killed for t in trials) >= 5, trials   # most of the kills land inside a build
    # The next build (the real `kb index`) succeeds, switches, and leaves no half-written version behind.
    done = subprocess.run([str(Path(sys.executable).parent / "kb"), "index"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    newest = versions.current_version(data_dir)
    assert versions.verify_version(newest)
    assert (versions.index_root(data_dir) / "CURRENT").read_text().strip() == newest.name
    assert all(versions.read_manifest(p) is not None for p in (versions.index_root(data_dir) / "versions").iterdir())
    assert _serves(data_dir, encoder) == newest.name
