"""The encoder interface: text in, L2-normalised float32 vectors out."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Encoder(ABC):
    """Turns queries and passages into vectors; one instance is shared per process."""

    name: str = ""
    dimension: int = 0

    @abstractmethod
    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed search queries (what a user types)."""

    @abstractmethod
    def encode_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Embed passages of content to be searched."""

    @abstractmethod
    def fingerprint(self) -> str:
        """A stable id of the exact weights, recorded with every index built with them."""

    def warm_up(self) -> None:
        """Load what loads lazily and encode once, so a long-lived process never waits at its first edit."""
        self.encode_passages(["Kunskapsbanken"], batch_size=1)

    # Models with a learned-sparse head (kb/embedding/sparse_head.py) override these.
    sparse_dimension: int = 0
    sparse_fingerprint: str | None = None   # the head's weights and how it is computed

    def encode_with_sparse(self, texts: list[str], kind: str = "passage", batch_size: int = 32,
                           progress: bool = False) -> tuple[np.ndarray, list]:
        """Dense vectors and, per text, a sparse vector (None when the model has no sparse head)."""
        dense = self.encode_queries(texts) if kind == "query" else self.encode_passages(texts, batch_size, progress)
        return dense, [None] * len(texts)

    def query_sparse(self, text: str):
        """The sparse vector of one query (None when the model has no sparse head)."""
        return None
