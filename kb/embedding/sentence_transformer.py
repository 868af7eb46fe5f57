"""The sentence-transformers backend: the model folder loaded with `sentence_transformers`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

# Shared with the plain-torch backend; re-exported because callers import them from here.
from kb.embedding.common import E5_PREFIXES, TokenStateEncoder, folder_fingerprint, set_offline

__all__ = ["E5_PREFIXES", "SentenceTransformerEncoder", "folder_fingerprint", "set_offline"]


class SentenceTransformerEncoder(TokenStateEncoder):
    """Encoder backed by `sentence_transformers.SentenceTransformer`, CPU only, offline."""

    def __init__(self, model_path: str | Path, threads: int = 1, query_cache_size: int = 2048, batch_threads: int = 2):
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bars in the CLI and logs

        # One thread for single queries (robust when the CPU is shared), more for batches.
        self.threads, self.batch_threads = max(1, threads), max(1, batch_threads)
        torch.set_num_threads(self.threads)
        self.model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self._init_shared(model_path, getattr(self.model, "prompts", {}) or {}, query_cache_size)

    def _encode(self, texts: list[str], batch_size: int = 32, progress: bool = False,
                search: bool = False) -> np.ndarray:
        import torch

        torch.set_num_threads(self.batch_threads if len(texts) > 1 else self.threads)
        vectors = self.model.encode(texts, batch_size=batch_size, show_progress_bar=progress,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)
