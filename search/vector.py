"""Vector retrieval: nearest chunks in FAISS, aggregated to one score per article.

A delta version (indexer/delta.py) has two indexes, the base's and its own: both are
searched and their hits merged by score; dead rows of the base are never allowed.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from indexer import chunk_table, delta
from indexer.ann.base import Allowed
from indexer.ann.factory import create_ann


class VectorSearcher:
    """Searches the chunk vectors of one index version."""

    def __init__(self, version_dir: Path, backend: str, dimension: int, columns: Mapping[str, Sequence]):
        """`columns`: the version's article table columns (indexer/article_table.py), in its row order."""
        import faiss

        # One query at a time: OpenMP's hand-off to a second thread costs more than it saves
        # (flat search over 67 000 chunks: 5.2 ms on one thread, 10.2 ms on two), and
        # concurrent requests already use the other core.
        faiss.omp_set_num_threads(1)
        self.article_ids = list(columns["id"])
        # Columns only: a chunk's text is read from disk when a result shows it.
        table = chunk_table.read(version_dir, {article_id: i for i, article_id in enumerate(self.article_ids)})
        self.parts = []   # (first row, index): the base's rows, then a delta's
        for first, name in [(0, "vectors.faiss")] + ([(table.base, f"{delta.DELTA_DIR}/vectors.faiss")]
                                                      if table.delta else []):
            ann = create_ann(backend, dimension)
            ann.load(version_dir / name)
            self.parts.append((first, ann))
        self.chunk_article = table.article.astype(np.int64)
        self.live = self.chunk_article >= 0
        self.chunk_internal = table.internal
        self.chunk_kind = table.kind
        self.texts = chunk_table.ChunkTexts(version_dir, table.offsets, table.base)
        self.attributes = {name: np.array([value or "" for value in columns[name]], dtype=object)
                           for name in ("office", "group", "language", "audience")}
        self._allowed = lru_cache(maxsize=256)(self._allowed_chunks)

    def passage_text(self, chunk_id: int) -> str | None:
        """The text of a chunk if it is a passage of the answer (what a snippet prefers to show)."""
        if chunk_table.KINDS[self.chunk_kind[chunk_id]] != "passage":
            return None
        return self.texts.record(chunk_id)["text"]

    def count(self) -> int:
        """Chunk rows in all parts (dead ones included)."""
        return sum(ann.count() for _, ann in self.parts)

    def _allowed_chunks(self, office, group, language, include_internal) -> list[Allowed | None]:
        """Per part, the chunk ids a search with these filters may return (None = all), ready for it (cached)."""
        if office is None and group is None and language is None and include_internal and self.live.all():
            return [None] * len(self.parts)
        ok = np.ones(len(self.article_ids), dtype=bool)
        if office:
            ok &= self.attributes["office"] == office
        if group:
            ok &= np.array([g.lower() == group.lower() for g in self.attributes["group"]], dtype=bool)
        if language:
            ok &= self.attributes["language"] == language
        if not include_internal:
            ok &= self.attributes["audience"] == "public"
        chunk_ok = ok[self.chunk_article] & self.live
        if not include_internal:
            chunk_ok &= ~self.chunk_internal
        ends = [first for first, _ in self.parts[1:]] + [len(chunk_ok)]
        return [ann.allowed(np.flatnonzero(chunk_ok[first:end])) for (first, ann), end in zip(self.parts, ends)]

    def search(self, query_vector: np.ndarray, k: int = 10, *, office=None, group=None, language=None,
               include_internal: bool = False) -> list[tuple[str, float, int]]:
        """Top-k (article id, cosine, best chunk id): an article scores its best-matching chunk."""
        allowed = self._allowed(office, group, language, include_internal)
        # Over-fetch chunks: several chunks of one article may fill the top.
        n_chunks = max(64, k * 8)
        found_scores, found_ids = [], []
        for (first, ann), part_allowed in zip(self.parts, allowed):
            if ann.count() == 0 or (part_allowed is not None and len(part_allowed) == 0):
                continue
            scores, ids = ann.search(query_vector.reshape(1, -1), min(ann.count(), n_chunks), part_allowed)
            found_scores.append(scores[0])
            found_ids.append(np.where(ids[0] >= 0, ids[0] + first, -1))
        if not found_scores:
            return []
        scores, ids = np.concatenate(found_scores), np.concatenate(found_ids)
        order = np.argsort(-scores, kind="stable")[:n_chunks]
        best: dict[int, tuple[float, int]] = {}
        for score, chunk_id in zip(scores[order], ids[order]):
            if chunk_id < 0:
                continue
            article = int(self.chunk_article[chunk_id])
            if article not in best:
                best[article] = (float(score), int(chunk_id))
        ranked = sorted(best.items(), key=lambda item: -item[1][0])[:k]
        return [(self.article_ids[a], score, chunk) for a, (score, chunk) in ranked]
