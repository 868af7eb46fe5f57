"""Approximate search with an HNSW graph, for corpora too big for exact search."""
from __future__ import annotations

import numpy as np

from indexer.ann.base import ANN

M = 32                 # graph degree: recall vs memory
EF_CONSTRUCTION = 80
EF_SEARCH = 128        # measured recall is reported by the benchmark


class HnswANN(ANN):
    name = "hnsw"

    def build(self, vectors: np.ndarray) -> None:
        """Build the HNSW graph over these vectors."""
        import faiss

        self.index = faiss.IndexHNSWFlat(self.dimension, M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.index.hnsw.efSearch = EF_SEARCH

    def load(self, path, mmap: bool = True) -> None:
        """Read the graph and set the search breadth."""
        super().load(path, mmap)
        self.index.hnsw.efSearch = EF_SEARCH

    def search_parameters(self, selector):
        """HNSW search parameters with the id selector and search breadth."""
        import faiss

        return faiss.SearchParametersHNSW(sel=selector, efSearch=EF_SEARCH)
