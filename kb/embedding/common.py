"""What every encoder backend shares: e5 prefixes, the query cache, the sparse head, fingerprints.

Imports nothing heavy (no torch, no transformers) at module level, so the factory and the
backends can use it without paying for a library they do not run.
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from kb.embedding.base import Encoder
from kb.embedding.sparse_head import SparseHead, find_head

# e5 models were trained with these prefixes; other models get none.
E5_PREFIXES = {"query": "query: ", "passage": "passage: "}


class UnsupportedModel(ValueError):
    """A backend cannot run the model in this folder (another backend may)."""


class TokenStateEncoder(Encoder):
    """Encoder over a `model` that follows sentence-transformers' module protocol.

    `model.tokenize(texts)` (or `model.preprocess`) returns features, and `model(features)` returns
    them with "token_embeddings" (last-layer states) and "sentence_embedding" added. Subclasses load
    `model`, set `threads`, `batch_threads` and `dimension`, call `_init_shared` and define `_encode`.
    """

    def _init_shared(self, model_path: str | Path, prompts: dict, query_cache_size: int) -> None:
        """Set name, prefixes, the query cache and the sparse head (after the model is loaded)."""
        self.path = Path(model_path)
        self.name = self.path.name
        is_e5 = "e5" in self.name.lower()
        self.query_prefix = prompts.get("query", E5_PREFIXES["query"] if is_e5 else "")
        self.passage_prefix = prompts.get("passage", E5_PREFIXES["passage"] if is_e5 else "")
        # Cache single-query embeddings: handlers and residents repeat questions.
        self._encode_query_cached = lru_cache(maxsize=query_cache_size)(self._encode_one_query)
        head_path = find_head(self.path)
        self.sparse_head = SparseHead(head_path, self.dimension) if head_path else None
        self.sparse_dimension = self.sparse_head.dimension if self.sparse_head else 0

    def _encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """L2-normalised vectors of already prefixed texts, in input order."""
        raise NotImplementedError

    def _prepare(self, texts: list[str]) -> dict:
        """Tokenise a batch with the model's own preprocessing."""
        prepare = getattr(self.model, "preprocess", None) or self.model.tokenize
        return prepare(texts)

    def _encode_one_query(self, text: str) -> np.ndarray:
        # Straight through the model's modules: sentence-transformers' encode() batching
        # machinery costs about 5 ms of a 30 ms single query on this machine.
        import torch

        torch.set_num_threads(self.threads)
        features = self._prepare([self.query_prefix + text])
        with torch.inference_mode():
            out = self.model(features)
            output = torch.nn.functional.normalize(out["sentence_embedding"], dim=-1)
        vector = output[0].float().numpy().astype(np.float32)
        vector.setflags(write=False)
        return vector, self._sparse_of(out, 0)

    def _sparse_of(self, out: dict, row: int):
        """The sparse vector of one text of a forward pass: its content tokens, without <s> and </s>."""
        if self.sparse_head is None:
            return None
        length = int(out["attention_mask"][row].sum())
        return self.sparse_head.project(out["token_embeddings"][row, 1:length - 1])

    def query_sparse(self, text: str):
        """The sparse vector of one query, from the same (cached) forward pass as its dense vector."""
        return self._encode_query_cached(text)[1]

    def encode_with_sparse(self, texts: list[str], kind: str = "passage", batch_size: int = 32,
                           progress: bool = False) -> tuple[np.ndarray, list]:
        """Dense and sparse vectors from one forward pass per batch (the caller sorts texts by length)."""
        if self.sparse_head is None:
            return super().encode_with_sparse(texts, kind, batch_size, progress)
        import torch

        torch.set_num_threads(self.batch_threads)
        prefix = self.query_prefix if kind == "query" else self.passage_prefix
        dense = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sparse = []
        for start in range(0, len(texts), batch_size):
            features = self._prepare([prefix + t for t in texts[start:start + batch_size]])
            with torch.inference_mode():
                out = self.model(features)
                vectors = torch.nn.functional.normalize(out["sentence_embedding"], dim=-1)
            dense[start:start + len(vectors)] = vectors.float().numpy()
            sparse += [self._sparse_of(out, row) for row in range(len(vectors))]
        return dense, sparse

    def clear_cache(self) -> None:
        """Forget cached query embeddings (benchmarks time cold queries)."""
        self._encode_query_cached.cache_clear()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries with the model's query prefix (a single query is cached)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1:
            return self._encode_query_cached(texts[0])[0][None, :]
        return self._encode([self.query_prefix + t for t in texts], batch_size=64)

    def encode_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Embed passages with the model's passage prefix, in batches."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode([self.passage_prefix + t for t in texts], batch_size, progress)

    def fingerprint(self) -> str:
        """Hash of the weight files and configuration in the model folder."""
        return folder_fingerprint(self.path)


def folder_fingerprint(path: Path) -> str:
    """sha256 over file names, sizes and the small config files of a model folder."""
    recorded = path / "kb_model.json"
    if recorded.exists():
        data = json.loads(recorded.read_text())
        if data.get("source_sha256"):
            # A converted model is defined by its source weights and the converter version.
            key = f"{data['source_sha256']}:{data.get('converter_version')}"
            return hashlib.sha256(key.encode()).hexdigest()[:16]
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(path)}:{stat.st_size}".encode())
        if stat.st_size < 1_000_000:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def set_offline() -> None:
    """Forbid the Hugging Face libraries from reaching the network."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
