"""Keyword backend "matrix": Whoosh's BM25F, computed with numpy over the version's keyword matrix.

It reads the matrix term by term (indexer/keyword_columns.py): memory-mapped arrays of a whole
version, or a delta version's base arrays and its own rows, each part's rows mapped to articles.

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
from whoosh.util.numeric import _length_byte_cache

from indexer import keyword_columns
from indexer.keyword_index import ALL_FIELDS, FIELD_BOOSTS
from search import keyword
from search.keyword import KeywordQuery, KeywordSearcher

# Whoosh stores a field length as one byte: lengths are rounded up to the next of 256 steps.
_LENGTH_STEPS = np.frombuffer(array("i", _length_byte_cache).tobytes(), dtype=np.int32)


def whoosh_lengths(lengths: np.ndarray) -> np.ndarray:
    """Field lengths as Whoosh reads them back: byte_to_length(length_to_byte(n))."""
    steps = np.minimum(np.searchsorted(_LENGTH_STEPS, lengths, side="left"), len(_LENGTH_STEPS) - 1)
    return _LENGTH_STEPS[steps].astype(np.float64)


class MatrixKeywordSearcher(KeywordSearcher):
    """BM25F over the term-major arrays of one index version; read-only, so threads share it.

    Scores are kept per row: in a whole version row r is article r; in a delta version the base's
    rows come first, then the delta's, and the rows of edited or removed articles are dead (they
    count in no statistic and are never returned). Each part's posting lists are sorted and the
    delta's rows follow the base's, so a term's rows over both parts stay sorted without a sort.
    """

    name = "matrix"

    def __init__(self, version_dir: Path, synonyms: list[list[str]] | None, columns: Mapping[str, Sequence]):
        """`columns`: the version's article columns in article order, as search/articles.column_arrays makes them."""
        super().__init__(synonyms)
        self.ids = list(columns["id"])
        n = self.count = len(self.ids)
        terms, self.parts, self.row_article = keyword_columns.read(version_dir, n)
        self.terms = terms
        self.term_ids = {term: i for i, term in enumerate(terms)}
        self.rows = sum(part.rows for part in self.parts)
        self.dead = None if self.row_article is None else self.row_article < 0
        # Per field and row, BM25's length normalisation k1 * (1 - b + b * length / average length):
        # made once here, not gathered and computed again for every term of every query.
        self.norms = {}
        k1, b_ = keyword.BM25_K1, keyword.BM25_B
        for name in ALL_FIELDS:
            exact = np.concatenate([np.asarray(part.arrays[f"{name}_lengths"], dtype=np.int64) for part in self.parts])
            if self.dead is not None:
                exact[self.dead] = 0
            average = (exact.sum() / n if n else 0.0) or 1.0
            self.norms[name] = k1 * ((1 - b_) + b_ * whoosh_lengths(exact) / average)
        attributes = {name: np.asarray(columns[name], dtype=object) for name in ("audience", "office", "language")}
        attributes["group"] = np.asarray(columns["group_key"], dtype=object)
        if self.row_article is not None:   # by row; a dead row's values are never looked at
            attributes = {name: values[np.maximum(self.row_article, 0)] for name, values in attributes.items()}
        self.attributes = attributes

    def _postings(self, field_name: str, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, counts) of a term in a field over every part, rows ascending (dead rows included)."""
        found = []
        for part in self.parts:
            if term_id >= part.terms:
                continue
            indptr = part.arrays[f"{field_name}_indptr"]
            a, b = int(indptr[term_id]), int(indptr[term_id + 1])
            if a < b:
                rows = part.arrays[f"{field_name}_docs"][a:b].astype(np.int64)
                if part.offset:
                    rows += part.offset
                found.append((rows, part.arrays[f"{field_name}_tf"][a:b]))
        if len(found) == 1:
            return found[0]
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint16)
        return np.concatenate([rows for rows, _ in found]), np.concatenate([tf for _, tf in found])

    def _live(self, rows: np.ndarray) -> int:
        """How many of these rows are live articles."""
        return len(rows) if self.dead is None else len(rows) - int(np.count_nonzero(self.dead[rows]))

    def doc_frequency(self, field_name: str, term: str) -> int:
        """How many articles have this analysed term in this field."""
        term_id = self.term_ids.get(term)
        if term_id is None:
            return 0
        if self.dead is None:   # a whole version: the length of the term's span
            indptr = self.parts[0].arrays[f"{field_name}_indptr"]
            return int(indptr[term_id + 1] - indptr[term_id])
        return self._live(self._postings(field_name, term_id)[0])

    def lexicon(self, field_name: str):
        """Every analysed term of a field (in a delta version, also the terms of its base's edited articles,
        as Whoosh keeps the terms of deleted documents until a merge)."""
        held = np.zeros(len(self.terms), dtype=bool)
        for part in self.parts:
            held[:part.terms] |= np.diff(part.arrays[f"{field_name}_indptr"]) > 0
        return [self.terms[i] for i in np.flatnonzero(held)]

    def _field_scores(self, field_name: str, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, BM25 of the term in this field) for the rows that contain it (ascending)."""
        docs, tf = self._postings(field_name, term_id)
        tf = tf.astype(np.float64)
        idf = np.log(self.count / (self._live(docs) + 1)) + 1
        return docs, idf * (tf * (keyword.BM25_K1 + 1)) / (tf + self.norms[field_name][docs])

    def _phrase_docs(self, first: int, second: int) -> np.ndarray:
        """Rows where `second` follows `first` in the body within PHRASE_SLOP positions."""
        # Keys row << 32 | position: a match never crosses into the next row.
        a = self._occurrences(first)
        b = self._occurrences(second)
        if not len(a) or not len(b):
            return np.zeros(0, dtype=np.int64)
        slop = keyword.PHRASE_SLOP
        # Binary-search the shorter list's keys in the longer one: a pair with a common word
        # (millions of occurrences at 100 000 articles) then costs the rarer word's count of searches.
        if len(a) <= len(b):
            following = np.searchsorted(b, a + 1, side="left")
            inside = following < len(b)
            near = np.zeros(len(a), dtype=bool)
            near[inside] = b[following[inside]] <= a[inside] + slop
            matched = a[near]
        else:   # the first occurrence of `first` at most slop positions before each `second`
            preceding = np.searchsorted(a, b - slop, side="left")
            inside = preceding < len(a)
            near = np.zeros(len(b), dtype=bool)
            near[inside] = a[preceding[inside]] < b[inside]
            matched = b[near]
        return np.unique(matched >> keyword_columns.POSITION_BITS)

    def _occurrences(self, term_id: int) -> np.ndarray:
        """The term's body occurrences as sorted keys row << 32 | position."""
        found = []
        for part in self.parts:
            if term_id < part.terms:
                starts = part.arrays["positions_starts"]
                keys = part.arrays["positions_keys"][starts[term_id]:starts[term_id + 1]]
                found.append(keys + (part.offset << keyword_columns.POSITION_BITS) if part.offset else keys)
        return np.asarray(found[0]) if len(found) == 1 else np.concatenate(found)

    def execute(self, query: KeywordQuery, k: int) -> list[tuple[str, float]]:
        """Top-k (article id, score): the same sum of clause scores Whoosh's Or computes."""
        scores = np.zeros(self.rows)
        body: dict[int, tuple[np.ndarray, np.ndarray]] = {}   # a term's body scores, again for its phrases
        for term, weight in query.weighted.items():
            term_id = self.term_ids.get(term)
            if term_id is None:
                continue
            for name in query.fields:
                docs, part = self._field_scores(name, term_id)
                if name == "body":
                    body[term_id] = docs, part
                scores[docs] += FIELD_BOOSTS[name] * weight * part
        for first, second in query.phrases:
            ids = self.term_ids.get(first), self.term_ids.get(second)
            if None in ids or keyword.PHRASE_FIELDS != ("body",):
                continue
            docs = self._phrase_docs(*ids)
            if len(docs):
                for term_id in ids:
                    term_docs, part = body.get(term_id) or self._field_scores("body", term_id)
                    at = np.searchsorted(term_docs, docs)
                    scores[docs] += keyword.PHRASE_BOOST * part[at]
        matched = scores > 0
        if self.dead is not None:
            matched &= ~self.dead
        docs = np.flatnonzero(matched)
        # Filters on the matched rows only: comparing a whole object column cost 0.9 ms a query.
        for name, value in query.filters.items():
            docs = docs[self.attributes[name][docs] == value]
        if len(docs) > k:
            # Keep every doc tied with the k-th score, so that ties are broken by index order below.
            kth = np.partition(scores[docs], len(docs) - k)[len(docs) - k]
            docs = docs[scores[docs] >= kth]
        articles = docs if self.row_article is None else self.row_article[docs]
        order = np.lexsort((articles, -scores[docs]))   # ties in article order, as Whoosh
        return [(self.ids[a], float(scores[d])) for a, d in zip(articles[order][:k].tolist(), docs[order][:k].tolist())]
