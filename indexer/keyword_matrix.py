"""The keyword matrix of a version: what the Whoosh index holds, as arrays that numpy can score.

Whoosh's query engine walks its postings one by one in Python: with 10 000
articles a typical question took 115 ms (p95 590 ms). The same statistics as
arrays let search/keyword_matrix.py compute the very same BM25F scores in a few
milliseconds. Per field, a row per article with the term counts (the Whoosh
analyser's tokens, so the terms are Whoosh's); for the body also each term's
positions, for phrase proximity. Rows are per article, so a build after an edit
copies the rows of unchanged articles (indexer/rows.py) and analyses one.
A delta version (indexer/delta.py) shares the base's matrix file and writes the rows of
the other articles to delta/keyword_matrix.npz; readers put them in article order. What
search reads is the same matrix term by term (indexer/keyword_columns.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from indexer import delta, rows
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


PARTS = (*ALL_FIELDS, "positions")


def _read_file(path: Path) -> dict[str, tuple]:
    parts: dict[str, tuple] = {}
    with np.load(path) as data:
        for name in PARTS:
            values = ("terms", "pos") if name == "positions" else ("terms", "tf")
            parts[name] = (data[f"{name}_indptr"], {v: data[f"{name}_{v}"] for v in values})
    return parts


def read_stored(version_dir: Path, base: bool = True) -> tuple[list[str], list[dict[str, tuple]]]:
    """Vocabulary and the stored parts (the version's file, or a delta version's base file and its own).

    `base=False`: a delta version's own part only (none for a whole version).
    """
    terms = json.loads((version_dir / TERMS_FILE).read_text(encoding="utf-8"))
    stored = [_read_file(version_dir / MATRIX_FILE)] if base else []
    if (version_dir / delta.DELTA_DIR / MATRIX_FILE).is_file():
        stored.append(_read_file(version_dir / delta.DELTA_DIR / MATRIX_FILE))
    return terms, stored


def read_parts(version_dir: Path, count: int | None = None) -> tuple[list[str], dict[str, tuple]]:
    """Vocabulary and per part (each field, and "positions") its (indptr, arrays), a row per article in order.

    `count`: the version's number of articles (needed to put a delta version's rows in order).
    """
    terms, stored = read_stored(version_dir)
    if len(stored) == 1:
        return terms, stored[0]
    order = delta.article_rows(version_dir, count)
    empty = (np.zeros(1, dtype=np.int64), {})
    return terms, {name: rows.gather_parts([part[name] for part in stored], order,
                                           (empty[0], {k: v[:0] for k, v in stored[0][name][1].items()}))
                   for name in PARTS}


def write(version_dir: Path, articles: list[Article], previous_dir: Path | None = None,
          sources: np.ndarray | None = None, base: int | None = None) -> list[str]:
    """Write the matrix of `articles`; with a previous version, rows of articles with a source are copied.

    `sources[i]` is article i's row in the previous version's stored parts, or -1 for a new or edited
    article. With `base` (the rows of the base's file, linked into this version): the rows of articles
    not kept there are written to delta/, in article order.
    """
    previous = None
    if previous_dir is not None and sources is not None:
        try:
            # A delta copies no row of the base (those it keeps are linked): its 300 MB at 100 000 stay unread.
            previous = read_stored(previous_dir, base=not base)
        except (OSError, ValueError, KeyError):
            if base:   # a delta needs the rows it builds on: fail, and the current version stays served
                raise
            previous = None
    if previous is None:
        sources, base = np.full(len(articles), -1, dtype=np.int64), None
    fresh = _Analysed(list(previous[0]) if previous else [])
    for position in np.flatnonzero(sources < 0).tolist():
        fresh.add(articles[position])
    select = sources
    if base:   # rows not kept come from the previous delta (numbered after the base) or are new
        select = sources[~delta.kept_in_base(sources, base)]
        select = np.where(select >= 0, select - base, -1)
    arrays: dict[str, np.ndarray] = {}
    for name in PARTS:
        new_part = fresh.body_positions() if name == "positions" else fresh.field(name)
        indptr, values = rows.gather_parts([part[name] for part in previous[1]] if previous else [], select,
                                           new_part)
        arrays[f"{name}_indptr"] = indptr
        arrays.update({f"{name}_{key}": value for key, value in values.items()})
    (version_dir / TERMS_FILE).write_text(json.dumps(fresh.terms, ensure_ascii=False), encoding="utf-8")
    target = version_dir / delta.DELTA_DIR / MATRIX_FILE if base else version_dir / MATRIX_FILE
    with open(target, "wb") as out:   # a file object: np.savez would append .npz
        np.savez(out, **arrays)
    return [MATRIX_FILE, TERMS_FILE]
