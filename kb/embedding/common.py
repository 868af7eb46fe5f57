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
# Files Kunskapsbanken derives from a model folder and keeps in it (left out of its fingerprint).
DERIVED_PREFIX = "kb_encoder-"


class UnsupportedModel(ValueError):
    """A backend cannot run the model in this folder (another backend may)."""


class TokenStateEncoder(Encoder):
    """Encoder over a `model` that follows sentence-transformers' module protocol.

    `model.tokenize(texts)` (or `model.preprocess`) returns features, and `model(features)` returns
    them with "token_embeddings" (last-layer states) and "sentence_embedding" added. Subclasses load
    `model`, set `threads`, `batch_threads` and `dimension` and call `_init_shared`; a backend
    without such a `model` overrides `_token_states` (bert_onnx.py).
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
        self.sparse_head = SparseHead(head_path, self.dimension, cache_dir=self.path) if head_path else None
        self.sparse_dimension = self.sparse_head.dimension if self.sparse_head else 0
        self.sparse_fingerprint = self.sparse_head.fingerprint if self.sparse_head else None

    def _encode(self, texts: list[str], batch_size: int = 32, progress: bool = False,
                search: bool = False) -> np.ndarray:
        """L2-normalised vectors of already prefixed texts, in input order (`search`: see _token_states)."""
        threads = self.batch_threads if len(texts) > 1 else self.threads
        # Longest first, as sentence-transformers does: batches of similar length pad little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        starts = range(0, len(texts), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Batches")
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in starts:
            rows = order[start:start + batch_size]
            vectors[rows] = self._token_states([texts[i] for i in rows], threads, search)[0]
        return vectors

    def _prepare(self, texts: list[str]) -> dict:
        """Tokenise a batch with the model's own preprocessing."""
        prepare = getattr(self.model, "preprocess", None) or self.model.tokenize
        return prepare(texts)

    def _token_states(self, texts: list[str], threads: int, search: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """Normalised sentence vectors [B, H] and each text's content-token states (no <s>, </s>), one pass.

        `search` marks texts a search embeds (queries): a backend may run them through a cheaper
        graph (bert_onnx.py's int8 one); index-time texts never are. Torch runs both the same way.
        """
        import torch

        torch.set_num_threads(threads)
        features = self._prepare(texts)
        with torch.inference_mode():
            out = self.model(features)
            vectors = torch.nn.functional.normalize(out["sentence_embedding"], dim=-1).float().numpy()
            lengths = out["attention_mask"].sum(1).tolist()
            states = [out["token_embeddings"][row, 1:n - 1].float().numpy() for row, n in enumerate(lengths)]
        return vectors.astype(np.float32), states

    def _encode_one_query(self, text: str) -> tuple[np.ndarray, object]:
        # Straight through the model's modules: sentence-transformers' encode() batching
        # machinery costs about 5 ms of a 30 ms single query on this machine.
        vectors, states = self._token_states([self.query_prefix + text], self.threads, search=True)
        vector = vectors[0]
        vector.setflags(write=False)
        return vector, self.sparse_head.project(states[0]) if self.sparse_head is not None else None

    def query_sparse(self, text: str):
        """The sparse vector of one query, from the same (cached) forward pass as its dense vector."""
        return self._encode_query_cached(text)[1]

    def encode_with_sparse(self, texts: list[str], kind: str = "passage", batch_size: int = 32,
                           progress: bool = False) -> tuple[np.ndarray, list]:
        """Dense and sparse vectors from one forward pass per batch (the caller sorts texts by length)."""
        if self.sparse_head is None:
            return super().encode_with_sparse(texts, kind, batch_size, progress)
        prefix = self.query_prefix if kind == "query" else self.passage_prefix
        dense = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sparse = []
        for start in range(0, len(texts), batch_size):
            vectors, states = self._token_states([prefix + t for t in texts[start:start + batch_size]],
                                                 self.batch_threads)
            dense[start:start + len(vectors)] = vectors
            sparse += self.sparse_head.project_many(states, self.batch_threads)
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
        return self._encode([self.query_prefix + t for t in texts], batch_size=64, search=True)

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
    # Not our own derived files: an ONNX export (bert_onnx.py) is made from the folder, not part of it.
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(DERIVED_PREFIX)):
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
