"""One contract for every keyword backend: the same query plan gives the same answers and scores."""
import json
import shutil

import numpy as np
import pytest

from indexer import article_table, keyword_columns, keyword_matrix, versions
from search.articles import column_arrays
from search.keyword import KEYWORD_BACKENDS, open_keyword
from tests.conftest import ROOT

EVAL_QUERIES = [json.loads(line)["query"] for line in (ROOT / "tests" / "eval" / "queries.jsonl").open(encoding="utf-8")]


def _open(version, backend):
    extras = json.loads((version / "content.json").read_text(encoding="utf-8"))
    return open_keyword(backend, version, extras["synonyms"], column_arrays(article_table.read(version)[1]))


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


def _occurrences(starts, keys, width):
    """(term, doc, position) of every body occurrence, as the matrix backend holds them for phrases."""
    keys = np.asarray(keys).tolist()
    return [(term, key >> 32, key & 0xFFFFFFFF) for term in range(width) for key in keys[starts[term]:starts[term + 1]]]


def _expected(indptr, values):
    docs = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return sorted(zip(values["terms"].tolist(), docs.tolist(), values["pos"].tolist()))


def test_phrase_positions_are_every_occurrence_grouped_by_term_in_document_order(version):
    """What phrase matching reads: per term its (doc, position) pairs sorted, none lost, none invented."""
    terms, parts = keyword_matrix.read_parts(version)
    indptr, values = parts["positions"]
    (stored,) = keyword_columns.read(version, len(indptr) - 1)[1]   # what the build wrote, memory-mapped
    assert _occurrences(stored.arrays["positions_starts"], stored.arrays["positions_keys"], len(terms)) \
        == _expected(indptr, values)
    # Rows whose positions are not in text order (never written so, but readable) take the slower sort.
    reversed_values = {"terms": np.concatenate([values["terms"][a:b][::-1] for a, b in zip(indptr[:-1], indptr[1:])]),
                       "pos": np.concatenate([values["pos"][a:b][::-1] for a, b in zip(indptr[:-1], indptr[1:])])}
    starts, keys = keyword_columns.occurrence_keys((indptr, reversed_values), len(indptr) - 1, len(terms))
    assert _occurrences(starts, keys, len(terms)) == _expected(indptr, reversed_values)


def test_large_matrices_are_turned_by_scipy_to_the_same_arrays(version, monkeypatch):
    """Past SCIPY_FROM_ENTRIES the rows are turned term-major by scipy's counting sort (faster there),
    below it by numpy's stable sort (no scipy import): both give the same arrays, dtypes included."""
    terms, parts = keyword_matrix.read_parts(version)
    rows = len(parts["positions"][0]) - 1
    by_numpy = keyword_columns.term_major(parts, rows, len(terms))
    monkeypatch.setattr(keyword_columns, "SCIPY_FROM_ENTRIES", 0)
    by_scipy = keyword_columns.term_major(parts, rows, len(terms))
    assert by_numpy.keys() == by_scipy.keys()
    for name, array in by_scipy.items():
        assert by_numpy[name].dtype == array.dtype and np.array_equal(by_numpy[name], array), name


def test_a_version_from_before_the_term_major_arrays_answers_the_same(version, tmp_path):
    """Older versions have only the rows per article: the searcher turns them at load, to the same answers."""
    older = tmp_path / version.name
    shutil.copytree(version, older, ignore=shutil.ignore_patterns(keyword_columns.COLUMNS_DIR))
    stored, turned = _open(version, "matrix"), _open(older, "matrix")
    assert isinstance(stored.parts[0].arrays["body_docs"], np.memmap)
    assert not isinstance(turned.parts[0].arrays["body_docs"], np.memmap)
    for query in EVAL_QUERIES[:60]:
        assert turned.search(query, k=10, include_internal=True).hits == stored.search(query, k=10,
                                                                                      include_internal=True).hits


def test_phrase_matches_are_found_from_either_words_side(version):
    """Word pairs 1 to PHRASE_SLOP positions apart: the rows a brute-force pass finds, whichever word is rarer."""
    from search import keyword

    matrix = _open(version, "matrix")
    at = {key: term_id for term_id in range(len(matrix.terms)) for key in matrix._occurrences(term_id).tolist()}
    pairs = sorted({(at[key], at[key + gap]) for key in sorted(at) for gap in range(1, keyword.PHRASE_SLOP + 1)
                    if key + gap in at and at[key] != at[key + gap]})
    sides = set()
    for first, second in pairs:
        a, b = matrix._occurrences(first).tolist(), matrix._occurrences(second).tolist()
        expected = sorted({y >> keyword_columns.POSITION_BITS for x in a for y in b
                           if 0 < y - x <= keyword.PHRASE_SLOP})
        assert matrix._phrase_docs(first, second).tolist() == expected, (matrix.terms[first], matrix.terms[second])
        sides.add(len(a) <= len(b))
    assert len(pairs) > 100 and sides == {True, False}
