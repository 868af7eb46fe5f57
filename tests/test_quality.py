"""Search quality on our own content and tests/eval/queries.jsonl: the floor a change must keep."""
import pytest

from bench.quality import evaluate
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def demo_quality(encoder, tmp_path_factory):
    return evaluate(ROOT / "content", ROOT / "tests" / "eval" / "queries.jsonl", encoder,
                    data_dir=tmp_path_factory.mktemp("eval-data"))


def test_eval_set_is_big_and_varied():
    lines = (ROOT / "tests" / "eval" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 200


def test_hybrid_quality_floor_on_demo_content(demo_quality):
    hybrid = demo_quality["methods"]["hybrid"]
    assert hybrid["mrr@10"] >= 0.85, demo_quality
    assert hybrid["recall@5"] >= 0.93, demo_quality


def test_hybrid_is_not_worse_than_either_signal(demo_quality):
    methods = demo_quality["methods"]
    assert methods["hybrid"]["mrr@10"] >= max(methods["keyword"]["mrr@10"], methods["vector"]["mrr@10"])
