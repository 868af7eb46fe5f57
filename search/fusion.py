"""Combining the keyword and vector rankings into one.

Keyword matching cannot work when the query shares no words with the
content (another language, other words): its weight follows the share of
query words the keyword index knows (`coverage`). Scores are standardised per
query (z-scores over each signal's candidates) so that neither signal's scale
dominates; the method and weight were chosen with `python -m bench.fusion_sweep`.
"""
from __future__ import annotations

from dataclasses import dataclass

KEYWORD_WEIGHT = 0.45  # keyword share when every query word is known to the index (swept 0.3-0.7)
# Share of the learned-sparse signal (kb/embedding/sparse_head.py) after keyword and vector are fused:
# SweFAQ dev MRR@10 rose at every share from 0.1 to 0.3 (best near 0.2); see docs/search.md.
SPARSE_WEIGHT = 0.2
RRF_K = 60


@dataclass
class Fused:
    """One article in the fused ranking, with the evidence behind it."""

    id: str
    score: float
    keyword_rank: int | None = None
    keyword_score: float | None = None
    vector_rank: int | None = None
    vector_score: float | None = None
    sparse_score: float | None = None


def _collect(keyword: list[tuple[str, float]], vector: list[tuple[str, float]]) -> dict[str, Fused]:
    items: dict[str, Fused] = {}
    for rank, (article_id, score) in enumerate(keyword, start=1):
        items[article_id] = Fused(article_id, 0.0, keyword_rank=rank, keyword_score=score)
    for rank, (article_id, score) in enumerate(vector, start=1):
        item = items.setdefault(article_id, Fused(article_id, 0.0))
        item.vector_rank, item.vector_score = rank, score
    return items


def rrf(keyword, vector, coverage: float = 1.0, keyword_weight: float = 0.5) -> list[Fused]:
    """Weighted reciprocal-rank fusion; the keyword weight shrinks with coverage."""
    items = _collect(keyword, vector)
    wk = 2 * keyword_weight * coverage
    wv = 2 * (1 - keyword_weight)
    for item in items.values():
        item.score = (wk / (RRF_K + item.keyword_rank) if item.keyword_rank else 0.0) + \
                     (wv / (RRF_K + item.vector_rank) if item.vector_rank else 0.0)
    return sorted(items.values(), key=lambda f: -f.score)


def _zscores(pairs: list[tuple[str, float]]) -> dict[str, float]:
    """Standardise one signal's scores over its candidate list (mean 0, sd 1)."""
    if not pairs:
        return {}
    values = [score for _, score in pairs]
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5 or 1.0
    return {article_id: (score - mean) / sd for article_id, score in pairs}


def weighted(keyword, vector, coverage: float = 1.0, keyword_weight: float = KEYWORD_WEIGHT) -> list[Fused]:
    """Convex combination of per-query standardised scores; the keyword share shrinks with coverage.

    An article missing from one list gets that list's lowest standardised
    score: it was not found there, but it is not infinitely unlikely either.
    """
    items = _collect(keyword, vector)
    kz, vz = _zscores(keyword), _zscores(vector)
    k_floor, v_floor = min(kz.values(), default=0.0), min(vz.values(), default=0.0)
    alpha = keyword_weight * coverage if kz else 0.0
    if not vz:
        alpha = 1.0 if kz else 0.0
    for item in items.values():
        item.score = alpha * kz.get(item.id, k_floor) + (1 - alpha) * vz.get(item.id, v_floor)
    return sorted(items.values(), key=lambda f: -f.score)


def add_sparse(fused: list[Fused], sparse: list[tuple[str, float]], weight: float = SPARSE_WEIGHT) -> list[Fused]:
    """Blend a third signal, scored over the same candidates, into a fused ranking (both standardised)."""
    if not sparse or len(fused) < 2:
        return fused
    fz, sz = _zscores([(f.id, f.score) for f in fused]), _zscores(sparse)
    s_floor, raw = min(sz.values()), dict(sparse)
    for item in fused:
        item.sparse_score = raw.get(item.id)
        item.score = (1 - weight) * fz[item.id] + weight * sz.get(item.id, s_floor)
    return sorted(fused, key=lambda f: -f.score)


METHODS = {"weighted": weighted, "rrf": rrf}


def fuse(keyword, vector, coverage: float, method: str = "weighted", **params) -> list[Fused]:
    """Fuse two rankings with the named method; the error lists the valid names."""
    try:
        return METHODS[method](keyword, vector, coverage, **params)
    except KeyError:
        raise ValueError(f"unknown fusion method {method!r}; choose one of: {', '.join(METHODS)}") from None
