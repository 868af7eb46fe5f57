"""Keyword backend "matrix": Whoosh's BM25F, computed with numpy over the version's keyword matrix.

The terms, counts and positions are those Whoosh indexes (indexer/keyword_matrix.py
runs the same analyser on the same fields), and the formula is Whoosh's own:
idf = ln(N / (df + 1)) + 1, field lengths rounded to Whoosh's one-byte lengths,
phrase pairs scored as the sum of their two body-term scores. The test suite runs
both backends on the same queries and requires the same answers.
"""
from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse as sp
from whoosh.util.numeric import _length_byte_cache

from indexer import keyword_matrix
from indexer.keyword_index import ALL_FIELDS, FIELD_BOOSTS, group_key
from search import keyword
from search.keyword import KeywordQuery, KeywordSearcher

# Whoosh stores a field length as one byte: lengths are rounded up to the next of 256 steps.
_LENGTH_STEPS = np.frombuffer(array("i", _length_byte_cache).tobytes(), dtype=np.int32)
_POSITION_BITS = 32


def whoosh_lengths(lengths: np.ndarray) -> np.ndarray:
    """Field lengths as Whoosh reads them back: byte_to_length(length_to_byte(n))."""
    steps = np.minimum(np.searchsorted(_LENGTH_STEPS, lengths, side="left"), len(_LENGTH_STEPS) - 1)
    return _LENGTH_STEPS[steps].astype(np.float64)


class MatrixKeywordSearcher(KeywordSearcher):
    """BM25F over term-major arrays of one index version; read-only, so threads share it."""

    name = "matrix"

    def __init__(self, version_dir: Path, synonyms: list[list[str]] | None, columns: Mapping[str, Sequence]):
        """`columns`: the article table's columns (indexer/article_table.py), in the matrix's row order."""
        super().__init__(synonyms)
        terms, parts = keyword_matrix.read_parts(version_dir, len(columns["id"]))
        self.terms = terms
        self.term_ids = {term: i for i, term in enumerate(terms)}
        self.ids = list(columns["id"])
        n, width = len(self.ids), len(terms)
        self.count = n
        self.columns, self.lengths, self.average, self.df = {}, {}, {}, {}
        for name in ALL_FIELDS:
            indptr, values = parts[name]
            rows = sp.csr_matrix((values["tf"].astype(np.float64), values["terms"], indptr), shape=(n, width))
            exact = np.asarray(rows.sum(axis=1)).ravel()
            self.columns[name] = rows.tocsc()
            self.lengths[name] = whoosh_lengths(exact)
            self.average[name] = (exact.sum() / n if n else 0.0) or 1.0
            self.df[name] = np.diff(self.columns[name].indptr)
        self._positions(parts["positions"], n, width)
        self.attributes = {name: np.asarray(columns[name], dtype=object) for name in ("audience", "office", "language")}
        self.attributes["group"] = np.array([group_key(group or "") for group in columns["group"]], dtype=object)

    def _positions(self, part, n: int, width: int) -> None:
        """Per body term, its occurrences as sorted keys doc << 32 | position (for phrase proximity)."""
        indptr, values = part
        # Rows hold each article's tokens in text order, and scipy's CSR -> CSC conversion is a stable
        # counting sort by term: each term's occurrences come out in (doc, position) order, in O(n)
        # (2.6x faster than a stable argsort, which was most of the start-up's keyword share at 100 000
        # articles). Checked, with a three-key lexsort as the fallback.
        by_term = sp.csr_matrix((values["pos"], values["terms"], indptr), shape=(n, width)).tocsc()
        # In place: 24 M occurrences at 100 000 articles, and each temporary array is 200 MB to fill.
        keys = by_term.indices.astype(np.int64)
        np.left_shift(keys, _POSITION_BITS, out=keys)
        np.bitwise_or(keys, by_term.data.astype(np.int64, copy=False), out=keys)
        starts = by_term.indptr.astype(np.int64)
        step_ok = np.diff(keys) >= 0
        step_ok[starts[1:-1][(starts[1:-1] > 0) & (starts[1:-1] < len(keys))] - 1] = True   # a new term may start lower
        if not step_ok.all():
            docs = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
            order = np.lexsort((values["pos"], docs, values["terms"]))
            keys = (docs[order] << _POSITION_BITS) | values["pos"][order].astype(np.int64)
        self.occurrence_keys = keys
        self.occurrence_starts = starts

    def doc_frequency(self, field_name: str, term: str) -> int:
        """How many articles have this analysed term in this field."""
        term_id = self.term_ids.get(term)
        return 0 if term_id is None else int(self.df[field_name][term_id])

    def lexicon(self, field_name: str):
        """Every analysed term of a field."""
        return [self.terms[i] for i in np.flatnonzero(self.df[field_name])]

    def _field_scores(self, field_name: str, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(docs, BM25 of the term in this field) for the docs that contain it."""
        matrix = self.columns[field_name]
        a, b = matrix.indptr[term_id], matrix.indptr[term_id + 1]
        docs, tf = matrix.indices[a:b], matrix.data[a:b]
        idf = np.log(self.count / (b - a + 1)) + 1
        k1, b_ = keyword.BM25_K1, keyword.BM25_B
        norm = k1 * ((1 - b_) + b_ * self.lengths[field_name][docs] / self.average[field_name])
        return docs, idf * (tf * (k1 + 1)) / (tf + norm)

    def _phrase_docs(self, first: int, second: int) -> np.ndarray:
        """Docs where `second` follows `first` in the body within PHRASE_SLOP positions."""
        a = self.occurrence_keys[self.occurrence_starts[first]:self.occurrence_starts[first + 1]]
        b = self.occurrence_keys[self.occurrence_starts[second]:self.occurrence_starts[second + 1]]
        if not len(a) or not len(b):
            return np.zeros(0, dtype=np.int64)
        following = np.searchsorted(b, a + 1, side="left")
        inside = following < len(b)
        near = np.zeros(len(a), dtype=bool)
        near[inside] = b[following[inside]] <= a[inside] + keyword.PHRASE_SLOP
        # The key's high bits are the doc: a match never crosses into the next document.
        return np.unique(a[near] >> _POSITION_BITS)

    def execute(self, query: KeywordQuery, k: int) -> list[tuple[str, float]]:
        """Top-k (article id, score): the same sum of clause scores Whoosh's Or computes."""
        scores = np.zeros(self.count)
        for term, weight in query.weighted.items():
            term_id = self.term_ids.get(term)
            if term_id is None:
                continue
            for name in query.fields:
                docs, part = self._field_scores(name, term_id)
                scores[docs] += FIELD_BOOSTS[name] * weight * part
        for first, second in query.phrases:
            ids = self.term_ids.get(first), self.term_ids.get(second)
            if None in ids or keyword.PHRASE_FIELDS != ("body",):
                continue
            docs = self._phrase_docs(*ids)
            if len(docs):
                for term_id in ids:
                    term_docs, part = self._field_scores("body", term_id)
                    at = np.searchsorted(term_docs, docs)
                    scores[docs] += keyword.PHRASE_BOOST * part[at]
        matched = scores > 0
        for name, value in query.filters.items():
            matched &= self.attributes[name] == value
        docs = np.flatnonzero(matched)
        if len(docs) > k:
            # Keep every doc tied with the k-th score, so that ties are broken by index order below.
            kth = np.partition(scores[docs], len(docs) - k)[len(docs) - k]
            docs = docs[scores[docs] >= kth]
        docs = docs[np.lexsort((docs, -scores[docs]))]   # ties in index order, as Whoosh
        return [(self.ids[d], float(scores[d])) for d in docs[:k]]
