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
