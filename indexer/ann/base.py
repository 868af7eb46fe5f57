"""The small interface every vector index backend implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np


class Allowed:
    """The ids a search may return, as a FAISS bitmap selector made once and kept by whoever caches it.

    FAISS's IDSelectorBatch builds a hash set of the ids on every search: 23 ms for the ~600 000 public
    chunks of 100 000 articles, a third of the flat scan itself. A bitmap costs n/8 bytes and nothing per search.
    """

    def __init__(self, ids: np.ndarray, count: int):
        import faiss

        member = np.zeros(count, dtype=bool)
        member[np.asarray(ids, dtype=np.int64)] = True
        self.size = int(member.sum())
        # FAISS reads bit (id & 7) of byte id >> 3; one spare byte so that an empty index has a buffer too.
        self.bits = np.append(np.packbits(member, bitorder="little"), np.uint8(0))
        self.selector = faiss.IDSelectorBitmap(count, faiss.swig_ptr(self.bits))

    def __len__(self) -> int:
        return self.size


class ANN(ABC):
    """Inner-product nearest-neighbour search over L2-normalised vectors."""

    name = ""

    def __init__(self, dimension: int):
        self.dimension = dimension
        self.index = None

    @abstractmethod
    def build(self, vectors: np.ndarray) -> None:
        """Index these vectors; row i gets id i."""

    def allowed(self, ids: np.ndarray) -> Allowed:
        """A reusable restriction of searches to these ids (cache it: making one costs a pass over the ids)."""
        return Allowed(ids, self.count())

    def search(self, queries: np.ndarray, k: int,
               allowed: Allowed | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query; `allowed` optionally restricts to these ids. Missing slots have id -1."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, self.count()))
        if allowed is None:
            return self.index.search(queries, k)
        if len(allowed) == 0:
            return (np.full((len(queries), k), -np.inf, dtype=np.float32), np.full((len(queries), k), -1))
        if not isinstance(allowed, Allowed):
            allowed = self.allowed(allowed)
        return self.index.search(queries, k, params=self.search_parameters(allowed.selector))

    @abstractmethod
    def search_parameters(self, selector):
        """FAISS search parameters carrying an id selector (type depends on the index kind)."""

    def count(self) -> int:
        """Number of indexed vectors."""
        return 0 if self.index is None else int(self.index.ntotal)

    def vectors(self) -> np.ndarray:
        """Every indexed vector (row i = id i): a view of the index's own storage, valid while this object lives."""
        import faiss

        # Flat and HNSW both keep the full vectors in an IndexFlat: the next build copies them from here,
        # so a version stores its vectors once (a second copy cost 100 MB of writing and hashing at 10 000).
        storage = faiss.downcast_index(self.index.storage if hasattr(self.index, "storage") else self.index)
        count = int(storage.ntotal)
        if count == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return faiss.rev_swig_ptr(storage.get_xb(), count * self.dimension).reshape(count, self.dimension)

    def save(self, path: Path) -> None:
        """Write the index to one file."""
        import faiss

        faiss.write_index(self.index, str(path))

    def load(self, path: Path, mmap: bool = True) -> None:
        """Read the index from a file, memory-mapped when possible so processes share pages."""
        import faiss

        # IO_FLAG_MMAP_IFC maps a flat index's vectors in place (nothing read, pages shared by the
        # gunicorn workers and the page cache); plain IO_FLAG_MMAP still copies them into memory
        # (1.3 s and 1 GB per process at 100 000 articles). Older FAISS lacks the flag.
        in_place = getattr(faiss, "IO_FLAG_MMAP_IFC", 0)
        attempts = [in_place | faiss.IO_FLAG_READ_ONLY, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY] if mmap else []
        for flags in [*attempts, 0]:
            try:
                self.index = faiss.read_index(str(path), flags)
                return
            except RuntimeError:
                if flags == 0:
                    raise
