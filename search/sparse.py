"""Learned-sparse scoring of candidate articles (see kb/embedding/sparse_head.py for the signal).

An article's score is the mean of two cosines: with its best-matching chunk (a long text's
one relevant passage) and with its whole-article pool (a question whose words are spread over
several chunks). Measured on three sets, either alone loses on one of them (docs/search.md).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import sparse as sp

from indexer import sparse_index


class SparseScorer:
    """Scores candidate articles against a query's sparse vector (best chunk and whole article)."""

    def __init__(self, version_dir: Path, article_ids: list[str], chunk_article: np.ndarray,
                 chunk_internal: np.ndarray):
        (chunks,) = sparse_index.load(version_dir / sparse_index.CHUNKS_FILE, "chunks")
        self.public, self.all = sparse_index.load(version_dir / sparse_index.ARTICLES_FILE, "public", "all")
        norms = np.sqrt(np.asarray(chunks.multiply(chunks).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        self.chunks = sp.csr_matrix(sp.diags(1 / norms) @ chunks, dtype=np.float32)
        self.chunk_internal = chunk_internal
        self.position = {article_id: i for i, article_id in enumerate(article_ids)}
        # Chunks are written article by article, so each article owns one contiguous range.
        order = np.arange(len(chunk_article))
        self.first = np.full(len(article_ids), 0, dtype=np.int64)
        self.last = np.full(len(article_ids), 0, dtype=np.int64)
        if len(chunk_article):
            starts = np.flatnonzero(np.r_[True, chunk_article[1:] != chunk_article[:-1]])
            ends = np.r_[starts[1:], len(chunk_article)]
            self.first[chunk_article[starts]] = order[starts]
            self.last[chunk_article[starts]] = ends

    def score(self, query, candidates: list[str], include_internal: bool) -> list[tuple[str, float]]:
        """(article id, score) for each candidate; residents' searches never match internal notes."""
        ids, weights = query
        known = [c for c in candidates if c in self.position]
        if not known or len(ids) == 0:
            return []
        spans = [(self.first[self.position[c]], self.last[self.position[c]]) for c in known]
        rows = np.concatenate([np.arange(a, b) for a, b in spans])
        dense_query = np.zeros(self.chunks.shape[1], dtype=np.float32)
        dense_query[ids] = weights / (np.linalg.norm(weights) or 1.0)
        scores = self.chunks[rows] @ dense_query
        if not include_internal:
            scores = np.where(self.chunk_internal[rows], 0.0, scores)
        pooled = (self.all if include_internal else self.public)[[self.position[c] for c in known]] @ dense_query
        result, at = [], 0
        for article_id, (a, b), whole in zip(known, spans, pooled.tolist()):
            best = float(scores[at:at + b - a].max()) if b > a else 0.0
            result.append((article_id, (best + whole) / 2))
            at += b - a
        return sorted(result, key=lambda pair: -pair[1])
