"""Exact search over vectors stored as float16: half the memory and a faster scan than float32.

Every vector is still compared; only its storage is rounded (relative error about 5e-4 per
component, cosine scores within 1e-3 of float32). At 100 000 articles (677 497 chunks) our
vector lookup took 36 ms instead of 74 ms on one core, and the mapped vectors are 0.5 GB instead
of 1 GB (docs/benchmarks.md, measured side by side). Rounding is idempotent: a vector copied from one version to the next
is stored bit for bit as it was.
"""
from __future__ import annotations

import numpy as np

from indexer.ann.base import ANN


class Flat16ANN(ANN):
    name = "flat16"

    def build(self, vectors: np.ndarray) -> None:
        """Index these vectors exactly, stored as float16."""
        import faiss

        self.index = faiss.IndexScalarQuantizer(self.dimension, faiss.ScalarQuantizer.QT_fp16,
                                                faiss.METRIC_INNER_PRODUCT)
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search_parameters(self, selector):
        """Plain search parameters with the id selector."""
        import faiss

        return faiss.SearchParameters(sel=selector)

    def vectors(self) -> np.ndarray:
        """Every stored vector as float16 (row i = id i): a view of the index's codes, valid while this object lives."""
        import faiss

        count = self.count()
        if count == 0:
            return np.zeros((0, self.dimension), dtype=np.float16)
        codes = faiss.rev_swig_ptr(self.index.codes.data(), count * self.dimension * 2)
        return codes.view(np.float16).reshape(count, self.dimension)
