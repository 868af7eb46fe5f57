"""Combining the keyword and vector rankings into one.

Keyword matching cannot work when the query shares no words with the
content (another language, other words): its weight follows the share of
query words the keyword index knows (`coverage`). Scores are normalised per
query so that neither signal's scale dominates.
"""
from __future__ import annotations

from dataclasses import dataclass

KEYWORD_WEIGHT = 0.5   # keyword share when every query word is known to the index
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


def weighted(keyword, vector, coverage: float = 1.0, keyword_weight: float = KEYWORD_WEIGHT) -> list[Fused]:
    """Convex combination of per-query normalised scores; the keyword share shrinks with coverage."""
    items = _collect(keyword, vector)
    top_kw = max((s for _, s in keyword), default=0.0)
    cosines = [s for _, s in vector]
    hi, lo = (max(cosines), min(cosines)) if cosines else (0.0, 0.0)
    span = max(hi - lo, 1e-6)
    alpha = keyword_weight * coverage
    for item in items.values():
        kw = item.keyword_score / top_kw if item.keyword_score and top_kw > 0 else 0.0
        vec = (item.vector_score - lo) / span if item.vector_score is not None else 0.0
        item.score = alpha * kw + (1 - alpha) * vec
    return sorted(items.values(), key=lambda f: -f.score)


METHODS = {"weighted": weighted, "rrf": rrf}


def fuse(keyword, vector, coverage: float, method: str = "weighted", **params) -> list[Fused]:
    """Fuse two rankings with the named method; the error lists the valid names."""
    try:
        return METHODS[method](keyword, vector, coverage, **params)
    except KeyError:
        raise ValueError(f"unknown fusion method {method!r}; choose one of: {', '.join(METHODS)}") from None
