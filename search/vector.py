"""Vector retrieval: nearest chunks in FAISS, aggregated to one score per article."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from indexer.ann.factory import create_ann


class VectorSearcher:
    """Searches the chunk vectors of one index version."""

    def __init__(self, version_dir: Path, backend: str, dimension: int, articles: list[dict]):
        self.ann = create_ann(backend, dimension)
        self.ann.load(version_dir / "vectors.faiss")
        self.article_ids = [a["id"] for a in articles]
        position = {article_id: i for i, article_id in enumerate(self.article_ids)}
        chunk_article, chunk_internal, self.chunk_kind, self.chunk_text = [], [], [], []
        with open(version_dir / "chunks.jsonl", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                chunk_article.append(position[record["article_id"]])
                chunk_internal.append(record["internal"])
                self.chunk_kind.append(record["kind"])
                self.chunk_text.append(record["text"])
        self.chunk_article = np.array(chunk_article, dtype=np.int64)
        self.chunk_internal = np.array(chunk_internal, dtype=bool)
        self.attributes = {
            key: np.array([a[field] or "" for a in articles], dtype=object)
            for key, field in (("office", "office"), ("group", "group"), ("language", "language"),
                               ("audience", "audience"))
        }
        self._allowed = lru_cache(maxsize=256)(self._allowed_chunks)

    def _allowed_chunks(self, office, group, language, include_internal) -> np.ndarray | None:
        """Chunk ids a search with these filters may return (None = all)."""
        if office is None and group is None and language is None and include_internal:
            return None
        ok = np.ones(len(self.article_ids), dtype=bool)
        if office:
            ok &= self.attributes["office"] == office
        if group:
            ok &= np.array([g.lower() == group.lower() for g in self.attributes["group"]], dtype=bool)
        if language:
            ok &= self.attributes["language"] == language
        if not include_internal:
            ok &= self.attributes["audience"] == "public"
        chunk_ok = ok[self.chunk_article]
        if not include_internal:
            chunk_ok &= ~self.chunk_internal
        return np.flatnonzero(chunk_ok)

    def search(self, query_vector: np.ndarray, k: int = 10, *, office=None, group=None, language=None,
               include_internal: bool = False) -> list[tuple[str, float, int]]:
        """Top-k (article id, cosine, best chunk id): an article scores its best-matching chunk."""
        allowed = self._allowed(office, group, language, include_internal)
        if self.ann.count() == 0 or (allowed is not None and len(allowed) == 0):
            return []
        # Over-fetch chunks: several chunks of one article may fill the top.
        n_chunks = min(self.ann.count(), max(64, k * 8))
        scores, ids = self.ann.search(query_vector.reshape(1, -1), n_chunks, allowed)
        best: dict[int, tuple[float, int]] = {}
        for score, chunk_id in zip(scores[0], ids[0]):
            if chunk_id < 0:
                continue
            article = int(self.chunk_article[chunk_id])
            if article not in best:
                best[article] = (float(score), int(chunk_id))
        ranked = sorted(best.items(), key=lambda item: -item[1][0])[:k]
        return [(self.article_ids[a], score, chunk) for a, (score, chunk) in ranked]
