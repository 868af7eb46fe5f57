"""One contract for every keyword backend: the same query plan gives the same answers and scores."""
import json

import pytest

from indexer import versions
from search.keyword import KEYWORD_BACKENDS, open_keyword
from tests.conftest import ROOT

EVAL_QUERIES = [json.loads(line)["query"] for line in (ROOT / "tests" / "eval" / "queries.jsonl").open(encoding="utf-8")]


def _open(version, backend):
    extras = json.loads((version / "content.json").read_text(encoding="utf-8"))
    records = [json.loads(line) for line in (version / "articles.jsonl").open(encoding="utf-8")]
    return open_keyword(backend, version, extras["synonyms"], records)


@pytest.fixture(scope="module")
def version(built_data_dir):
    return versions.current_version(built_data_dir)


@pytest.mark.parametrize("backend", KEYWORD_BACKENDS)
def test_each_backend_answers_finds_typos_and_keeps_internal_notes_internal(version, backend):
    searcher = _open(version, backend)
    result = searcher.search("parkeringstillstånd rörelsehinder", k=3)
    assert result.hits[0][0] == "parkeringstillstand-rorelsehindrad" and result.coverage == 1.0
    typo = searcher.search("hämtnig", k=3)                                           # one letter missing
    assert typo.fuzzy and typo.hits[0][0] == "missad-hamtning"
    assert searcher.search("xyzzy qwerty").hits == []
    internal = searcher.search("hotfull bilist rutin", k=5, include_internal=True).hits
    assert "rutin-hotfull-bilist" in [article_id for article_id, _ in internal]
    assert "rutin-hotfull-bilist" not in [a for a, _ in searcher.search("hotfull bilist rutin", k=5).hits]
    everywhere = {article_id for article_id, _ in searcher.search("avgift", k=20).hits}
    in_parking = {article_id for article_id, _ in searcher.search("avgift", k=20, office="parkering").hits}
    assert in_parking and in_parking < everywhere and "forskola-avgift" not in in_parking


def test_the_matrix_computes_whooshs_scores(version):
    """Same ranking and the same BM25F scores (to float rounding) on every eval query, both audiences."""
    whoosh, matrix = _open(version, "whoosh"), _open(version, "matrix")
    compared = 0
    for query in EVAL_QUERIES:
        for internal in (False, True):
            expected = whoosh.search(query, k=10, include_internal=internal)
            got = matrix.search(query, k=10, include_internal=internal)
            assert [a for a, _ in got.hits] == [a for a, _ in expected.hits], query
            assert [round(s, 9) for _, s in got.hits] == [round(s, 9) for _, s in expected.hits], query
            assert (got.coverage, got.terms, got.fuzzy) == (expected.coverage, expected.terms, expected.fuzzy)
            compared += bool(expected.hits)
    assert compared > 100


def test_an_unknown_backend_is_a_clear_error(version):
    with pytest.raises(ValueError, match="matrix, whoosh"):
        _open(version, "lucene")
