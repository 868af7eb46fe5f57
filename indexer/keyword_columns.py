"""The keyword matrix term by term: what the matrix keyword backend scores, stored ready to memory-map.

search/keyword_matrix.py scores BM25F one term at a time: per term, the articles holding it and how
often, and for phrases each body term's occurrences in (article, position) order. The keyword matrix
(indexer/keyword_matrix.py) stores rows per article, which builds after an edit copy; turning them
term-major in every serving process took 1.8 s of its start-up at 100 000 articles (scipy's CSR to
CSC per field, then the occurrence keys) and 400 MB private to each process. A whole version stores
the term-major arrays here as .npy files: the searcher memory-maps them (shared by gunicorn's
workers, paged in as queries touch them). A delta version (indexer/delta.py) links its base's and
turns only its own few rows at load; versions from before this folder existed are turned at load.

Arrays per field f: `f_indptr` (per term its span), `f_docs` (rows, ascending within a term),
`f_tf` (counts) and `f_lengths` (per row, its tokens in that field); for the body's phrases
`positions_starts` and `positions_keys` (row << 32 | position, ascending within a term).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer import delta
from indexer.keyword_index import ALL_FIELDS
from indexer.keyword_matrix import PARTS, read_parts, read_stored

COLUMNS_DIR = delta.BASE_COLUMNS
POSITION_BITS = 32
# From this many entries on, turning rows term-major uses scipy's counting sort (7x faster than numpy's
# stable argsort at 24 M entries); below it, numpy's sort costs less than importing scipy (0.2-0.35 s,
# most of a small build's turning and a good part of a fresh `kb index`).
SCIPY_FROM_ENTRIES = 2_000_000


def by_term(values: np.ndarray, terms: np.ndarray, indptr: np.ndarray, n_rows: int,
            n_terms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-major entries (CSR) re-ordered by term, a stable sort: (per term its span, rows, values).

    Within a term the entries keep their row-major order: rows ascending, and a row's entries in the
    order it holds them.
    """
    if len(terms) >= SCIPY_FROM_ENTRIES:
        from scipy import sparse as sp

        columns = sp.csr_matrix((values, terms, indptr), shape=(n_rows, n_terms)).tocsc()
        return columns.indptr, columns.indices, columns.data
    order = np.argsort(terms, kind="stable")
    rows = np.repeat(np.arange(n_rows, dtype=np.int32), np.diff(indptr))
    spans = np.r_[0, np.cumsum(np.bincount(terms, minlength=n_terms), dtype=np.int64)]
    return spans, rows[order], np.asarray(values)[order]


def term_major(parts: dict[str, tuple], n_rows: int, n_terms: int) -> dict[str, np.ndarray]:
    """The term-major arrays of row-major parts (indexer/keyword_matrix.py: per field and "positions")."""
    out: dict[str, np.ndarray] = {}
    for name in ALL_FIELDS:
        indptr, values = parts[name]
        spans, docs, tf = by_term(values["tf"], values["terms"], indptr, n_rows, n_terms)
        out[f"{name}_indptr"] = spans.astype(np.int64, copy=False)
        out[f"{name}_docs"] = docs.astype(np.int32, copy=False)
        out[f"{name}_tf"] = tf.astype(np.uint16, copy=False)
        running = np.zeros(len(values["tf"]) + 1, dtype=np.int64)
        np.cumsum(values["tf"], out=running[1:])
        out[f"{name}_lengths"] = running[indptr[1:]] - running[indptr[:-1]]
    out["positions_starts"], out["positions_keys"] = occurrence_keys(parts["positions"], n_rows, n_terms)
    return out


def occurrence_keys(part: tuple, n_rows: int, n_terms: int) -> tuple[np.ndarray, np.ndarray]:
    """(per term its span, keys row << 32 | position) of every body occurrence, ascending within a term."""
    indptr, values = part
    # Rows hold each article's tokens in text order, and by_term is a stable sort by term: each
    # term's occurrences come out in (row, position) order. Checked, with a three-key lexsort as the fallback.
    spans, docs, positions = by_term(values["pos"], values["terms"], indptr, n_rows, n_terms)
    # In place: 24 M occurrences at 100 000 articles, and each temporary array is 200 MB to fill.
    keys = docs.astype(np.int64)
    np.left_shift(keys, POSITION_BITS, out=keys)
    np.bitwise_or(keys, positions.astype(np.int64, copy=False), out=keys)
    starts = spans.astype(np.int64)
    step_ok = np.diff(keys) >= 0
    step_ok[starts[1:-1][(starts[1:-1] > 0) & (starts[1:-1] < len(keys))] - 1] = True   # a new term may start lower
    if not step_ok.all():
        docs = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
        order = np.lexsort((values["pos"], docs, values["terms"]))
        keys = (docs[order] << POSITION_BITS) | values["pos"][order].astype(np.int64)
    return starts, keys


def write(version_dir: Path, count: int) -> list[str]:
    """Store the term-major arrays of a whole version's matrix; returns the folder's name (for the manifest)."""
    terms, parts = read_parts(version_dir, count)
    folder = version_dir / COLUMNS_DIR
    folder.mkdir()
    for name, values in term_major(parts, count, len(terms)).items():
        np.save(folder / f"{name}.npy", values)
    return [COLUMNS_DIR]


class Part:
    """The term-major arrays of some rows; its rows are numbered from `offset` on (a delta's after its base's)."""

    def __init__(self, arrays: dict[str, np.ndarray], offset: int = 0):
        self.arrays = arrays
        self.offset = offset
        self.rows = len(arrays[f"{ALL_FIELDS[0]}_lengths"])
        self.terms = len(arrays[f"{ALL_FIELDS[0]}_indptr"]) - 1   # a base knows fewer terms than its deltas


def read(version_dir: Path, count: int) -> tuple[list[str], list[Part], np.ndarray | None]:
    """The vocabulary, the parts a search scores, and per row its article (None: row r is article r).

    `count`: the version's number of articles. In a delta version the rows are the base's, then its
    own: rows of the base whose article was edited or removed are dead (-1 in the map).
    """
    folder = version_dir / COLUMNS_DIR
    if not folder.is_dir():   # a version from before the folder: turned here, from its rows in article order
        terms, parts = read_parts(version_dir, count)
        return terms, [Part(term_major(parts, count, len(terms)))], None
    base = Part({path.stem: np.load(path, mmap_mode="r") for path in folder.glob("*.npy")})
    terms, own = read_stored(version_dir, base=False)
    if not own:
        return terms, [base], None
    delta_rows = len(own[0][PARTS[0]][0]) - 1
    row_article = np.full(base.rows + delta_rows, -1, dtype=np.int64)
    row_article[delta.article_rows(version_dir, count)] = np.arange(count)
    return terms, [base, Part(term_major(own[0], delta_rows, len(terms)), base.rows)], row_article
