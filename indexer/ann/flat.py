"""Exact search: every vector compared (the default; fast enough well past 100 000 chunks)."""
from __future__ import annotations

import numpy as np

from indexer.ann.base import ANN


class FlatANN(ANN):
    name = "flat"

    def build(self, vectors: np.ndarray) -> None:
        """Index these vectors exactly."""
        import faiss

        self.index = faiss.IndexFlatIP(self.dimension)
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search_parameters(self, selector):
        """Plain search parameters with the id selector."""
        import faiss

        return faiss.SearchParameters(sel=selector)
