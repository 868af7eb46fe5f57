"""Learned-sparse scoring of candidate articles (see kb/embedding/sparse_head.py for the signal).

An article's score is the mean of two cosines: with its best-matching chunk (a long text's
one relevant passage) and with its whole-article pool (a question whose words are spread over
several chunks). Measured on three sets, either alone loses on one of them (docs/search.md).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer import chunk_table, delta, rows, sparse_index


class SparseScorer:
    """Scores candidate articles against a query's sparse vector (best chunk and whole article).

    The matrices stay memory-mapped (indexer/sparse_index.py): a search reads the rows of its
    candidates only, so start-up converts nothing and processes share the pages.
    """

    def __init__(self, version_dir: Path, article_ids: list[str], chunk_article: np.ndarray,
                 chunk_internal: np.ndarray):
        # A delta version (indexer/delta.py) holds each matrix in two parts: the base's rows, then its own.
        (self.chunks,) = sparse_index.load_parts(version_dir, sparse_index.CHUNKS_DIR, "chunks")
        self.norms = sparse_index.load_chunk_norms(version_dir, self.chunks)
        self.public, self.all = sparse_index.load_parts(version_dir, sparse_index.ARTICLES_DIR, "public", "all")
        self.pool_rows = delta.article_rows(version_dir, len(article_ids))
        self.chunk_internal = chunk_internal
        self.position = {article_id: i for i, article_id in enumerate(article_ids)}
        # Chunks are written article by article, so each article owns one contiguous range.
        self.first, self.last = chunk_table.article_rows(chunk_article, len(article_ids))

    def score(self, query, candidates: list[str], include_internal: bool) -> list[tuple[str, float]]:
        """(article id, score) for each candidate; residents' searches never match internal notes."""
        ids, weights = query
        known = [c for c in candidates if c in self.position]
        if not known or len(ids) == 0:
            return []
        positions = np.array([self.position[c] for c in known], dtype=np.int64)
        firsts, lasts = self.first[positions], self.last[positions]
        chunk_rows = rows.ranges(firsts, lasts)
        dense_query = np.zeros(self.chunks[0].shape[1], dtype=np.float32)
        dense_query[ids] = weights / (np.linalg.norm(weights) or 1.0)
        scores = _dot_rows(self.chunks, chunk_rows, dense_query) / self.norms[chunk_rows]
        if not include_internal:
            scores = np.where(self.chunk_internal[chunk_rows], 0.0, scores)
        pooled = _dot_rows(self.all if include_internal else self.public, self.pool_rows[positions], dense_query)
        result, at = [], 0
        for article_id, length, whole in zip(known, (lasts - firsts).tolist(), pooled.tolist()):
            best = float(scores[at:at + length].max()) if length else 0.0
            result.append((article_id, (best + whole) / 2))
            at += length
        return sorted(result, key=lambda pair: -pair[1])


def _dot_rows(parts: list[sparse_index.Rows], wanted: np.ndarray, dense_query: np.ndarray) -> np.ndarray:
    """Rows.dot_rows over parts laid end to end (a delta version's base and delta rows)."""
    if len(parts) == 1:
        return parts[0].dot_rows(wanted, dense_query)
    out = np.zeros(len(wanted), dtype=np.float32)
    first = 0
    for part in parts:
        mine = np.flatnonzero((wanted >= first) & (wanted < first + part.shape[0]))
        if len(mine):
            out[mine] = part.dot_rows(wanted[mine] - first, dense_query)
        first += part.shape[0]
    return out
