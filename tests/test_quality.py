"""Search quality on our own content and tests/eval: the floors a change must keep."""
import json

import pytest

from bench.quality import read_queries, score_method
from indexer.build import build_index
from search.searcher import Searcher
from tests.conftest import ROOT, TODAY

EVAL = ROOT / "tests" / "eval"


@pytest.fixture(scope="module")
def demo_searcher(encoder, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo-data")
    build_index(ROOT / "content", data_dir, encoder, today=TODAY)
    return Searcher(data_dir, encoder, today=TODAY)


@pytest.fixture(scope="module")
def demo_quality(demo_searcher):
    queries = read_queries(EVAL / "queries.jsonl")
    return {method: score_method(demo_searcher, queries, method) for method in ("keyword", "vector", "hybrid")}


def test_eval_set_is_big_and_varied():
    queries = read_queries(EVAL / "queries.jsonl")
    assert len(queries) >= 200
    assert len({q["query"].lower() for q in queries}) == len(queries)


def test_hybrid_quality_floor_on_demo_content(demo_quality):
    hybrid = demo_quality["hybrid"]
    assert hybrid["mrr@10"] >= 0.88, demo_quality
    assert hybrid["recall@5"] >= 0.95, demo_quality


def test_hybrid_is_not_worse_than_either_signal(demo_quality):
    assert demo_quality["hybrid"]["mrr@10"] >= max(demo_quality["keyword"]["mrr@10"], demo_quality["vector"]["mrr@10"])


def test_low_confidence_flags_questions_we_cannot_answer(demo_searcher):
    unanswerable = [json.loads(line)["query"] for line in (EVAL / "unanswerable.jsonl").read_text().splitlines()]
    flagged = sum(demo_searcher.search(q).low_confidence for q in unanswerable)
    assert flagged / len(unanswerable) >= 0.8


def test_right_answers_are_not_flagged_low_confidence(demo_searcher):
    right = flagged = 0
    for record in read_queries(EVAL / "queries.jsonl"):
        result = demo_searcher.search(record["query"], audience="internal")
        if result.hits and result.hits[0].id in record["relevant"]:
            right += 1
            flagged += result.low_confidence
    assert flagged / right <= 0.1
