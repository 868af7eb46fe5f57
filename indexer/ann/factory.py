"""Pick a vector index backend by name."""
from __future__ import annotations

from indexer.ann.base import ANN
from indexer.ann.flat import FlatANN
from indexer.ann.flat16 import Flat16ANN
from indexer.ann.hnsw import HnswANN

BACKENDS: dict[str, type[ANN]] = {cls.name: cls for cls in (FlatANN, Flat16ANN, HnswANN)}


def create_ann(name: str, dimension: int) -> ANN:
    """A new, empty backend of the named kind; the error lists the valid names."""
    try:
        return BACKENDS[name](dimension)
    except KeyError:
        raise ValueError(f"unknown vector backend {name!r}; choose one of: {', '.join(BACKENDS)}") from None
