"""The keyword matrix of a version: what the Whoosh index holds, as arrays that numpy can score.

Whoosh's query engine walks its postings one by one in Python: with 10 000
articles a typical question took 115 ms (p95 590 ms). The same statistics as
arrays let search/keyword_matrix.py compute the very same BM25F scores in a few
milliseconds. Per field, a row per article with the term counts (the Whoosh
analyser's tokens, so the terms are Whoosh's); for the body also each term's
positions, for phrase proximity. Rows are per article, so a build after an edit
copies the rows of unchanged articles (indexer/rows.py) and analyses one.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from indexer import rows
from indexer.analysis import swedish_analyzer
from indexer.keyword_index import ALL_FIELDS, article_document
from kb.schema import Article

MATRIX_FILE = "keyword_matrix.npz"
TERMS_FILE = "keyword_terms.json"
POSITIONS_FIELD = "body"


class _Analysed:
    """Fresh rows for a list of articles, growing the vocabulary as new terms appear."""

    def __init__(self, terms: list[str]):
        self.terms = terms
        self.ids = {term: i for i, term in enumerate(terms)}
        self.analyzer = swedish_analyzer()
        self.counts = {f: ([0], [], []) for f in ALL_FIELDS}        # indptr, term ids, counts
        self.positions = ([0], [], [])                               # indptr, term ids, positions

    def _id(self, term: str) -> int:
        found = self.ids.get(term)
        if found is None:
            found = self.ids[term] = len(self.terms)
            self.terms.append(term)
        return found

    def add(self, article: Article) -> None:
        document = article_document(article)
        for name in ALL_FIELDS:
            tokens = [(self._id(t.text), t.pos) for t in self.analyzer(document[name] or "", positions=True)]
            ids = np.array([term for term, _ in tokens], dtype=np.int64)
            unique, counts = np.unique(ids, return_counts=True)
            indptr, term_ids, tfs = self.counts[name]
            term_ids.append(unique)
            tfs.append(counts)
            indptr.append(indptr[-1] + len(unique))
            if name == POSITIONS_FIELD:
                indptr, term_ids, positions = self.positions
                term_ids.append(ids)
                positions.append(np.array([pos for _, pos in tokens], dtype=np.int64))
                indptr.append(indptr[-1] + len(ids))

    def field(self, name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        indptr, term_ids, tfs = self.counts[name]
        return np.array(indptr, dtype=np.int64), {
            "terms": np.concatenate(term_ids).astype(np.int32) if term_ids else np.zeros(0, np.int32),
            "tf": np.concatenate(tfs).astype(np.uint16) if tfs else np.zeros(0, np.uint16)}

    def body_positions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        indptr, term_ids, positions = self.positions
        return np.array(indptr, dtype=np.int64), {
            "terms": np.concatenate(term_ids).astype(np.int32) if term_ids else np.zeros(0, np.int32),
            "pos": np.concatenate(positions).astype(np.int32) if positions else np.zeros(0, np.int32)}


def read_parts(version_dir: Path) -> tuple[list[str], dict[str, tuple]]:
    """Vocabulary and per part (each field, and "positions") its (indptr, arrays)."""
    terms = json.loads((version_dir / TERMS_FILE).read_text(encoding="utf-8"))
    parts: dict[str, tuple] = {}
    with np.load(version_dir / MATRIX_FILE) as data:
        for name in (*ALL_FIELDS, "positions"):
            values = ("terms", "pos") if name == "positions" else ("terms", "tf")
            parts[name] = (data[f"{name}_indptr"], {v: data[f"{name}_{v}"] for v in values})
    return terms, parts


def write(version_dir: Path, articles: list[Article], previous_dir: Path | None = None,
          sources: np.ndarray | None = None) -> list[str]:
    """Write the matrix of `articles`; with a previous version, rows of articles with a source are copied.

    `sources[i]` is article i's row in the previous version, or -1 for a new or edited article.
    """
    previous = None
    if previous_dir is not None and sources is not None:
        try:
            previous = read_parts(previous_dir)
        except (OSError, ValueError, KeyError):
            previous = None
    if previous is None:
        sources = np.full(len(articles), -1, dtype=np.int64)
    fresh = _Analysed(list(previous[0]) if previous else [])
    for position in np.flatnonzero(sources < 0).tolist():
        fresh.add(articles[position])
    arrays: dict[str, np.ndarray] = {}
    for name in (*ALL_FIELDS, "positions"):
        new_part = fresh.body_positions() if name == "positions" else fresh.field(name)
        indptr, values = rows.gather(previous[1][name] if previous else None, sources, new_part)
        arrays[f"{name}_indptr"] = indptr
        arrays.update({f"{name}_{key}": value for key, value in values.items()})
    (version_dir / TERMS_FILE).write_text(json.dumps(fresh.terms, ensure_ascii=False), encoding="utf-8")
    with open(version_dir / MATRIX_FILE, "wb") as out:   # a file object: np.savez would append .npz
        np.savez(out, **arrays)
    return [MATRIX_FILE, TERMS_FILE]
