"""Hashed passage vectors for sizes whose cold build cannot run here (`kb bench speed --hashed-passages`).

A cold build of 100 000 articles embeds about 680 000 chunks: at the model's ~20
passages/s on 2 cores that is 9 to 10 hours, longer than any sitting on these
machines. Everything else in the system can still be measured at that size: the
keyword side, FAISS over as many vectors, the sparse rows, start-up, memory, the
version files and the incremental paths. `HashedPassages` wraps the real
encoder: queries go through the model as in production (their cost is part of
every latency), while the corpus side (passages and question chunks) gets
deterministic unit vectors and 256-feature sparse rows derived from a hash of
the text, at the real model's dimensions. Retrieval quality of the vector and
hybrid methods means nothing under it (the keyword side's does); the report
marks every figure of such a size. Never used by the service: only the
benchmark installs it, in its own processes.

`python -m bench.hashed kb index ...` and `python -m bench.hashed gunicorn ...`
run those commands with the wrapper installed.
"""
from __future__ import annotations

import hashlib
import sys

import numpy as np

from kb.embedding.base import Encoder

SPARSE_FEATURES = 256   # what the real sparse head keeps per text (kb/embedding/sparse_head.py)


class HashedPassages(Encoder):
    """The real encoder for queries; hash-derived vectors for every text of the corpus."""

    def __init__(self, inner: Encoder):
        self.inner = inner
        self.name = f"hashed-passages({inner.name})"
        self.dimension = inner.dimension
        self.sparse_dimension = inner.sparse_dimension
        self.sparse_fingerprint = f"hashed-{inner.sparse_fingerprint}" if inner.sparse_dimension else None

    def _vectors(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
            vectors[row] = np.random.default_rng(seed).standard_normal(self.dimension)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def _sparse(self, text: str):
        from kb.embedding.sparse_head import SparseVector

        rng = np.random.default_rng(int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8,
                                                                    person=b"sparse").digest(), "little"))
        ids = rng.choice(self.sparse_dimension, size=SPARSE_FEATURES, replace=False)
        return SparseVector(ids.astype(np.int32), rng.gamma(2.0, 0.5, SPARSE_FEATURES).astype(np.float32))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """The real model's query vectors."""
        return self.inner.encode_queries(texts)

    def query_sparse(self, text: str):
        """The real model's sparse query vector."""
        return self.inner.query_sparse(text)

    def clear_cache(self) -> None:
        """Forget the real encoder's cached query vectors."""
        self.inner.clear_cache()

    def encode_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Hash-derived unit vectors, one per text."""
        return self._vectors(texts)

    def encode_with_sparse(self, texts: list[str], kind: str = "passage", batch_size: int = 32,
                           progress: bool = False) -> tuple[np.ndarray, list]:
        """Hash-derived dense and sparse vectors for corpus texts of either kind."""
        sparse = [self._sparse(t) for t in texts] if self.sparse_dimension else [None] * len(texts)
        return self._vectors(texts), sparse

    def fingerprint(self) -> str:
        """Distinct from the real model's: an index built here is never served with real vectors, or back."""
        return f"hashed-passages-1:{self.inner.fingerprint()}"


def install() -> None:
    """Wrap every embedding backend of this process in HashedPassages."""
    from kb.embedding import factory

    for name, make in list(factory.BACKENDS.items()):
        factory.BACKENDS[name] = lambda *args, make=make: HashedPassages(make(*args))


def main() -> None:
    """`python -m bench.hashed kb|gunicorn ARGS...`: run that command with the wrapper installed."""
    install()
    program, sys.argv = sys.argv[1], sys.argv[1:]
    if program == "kb":
        from web.cli import main as run
    elif program == "gunicorn":
        from gunicorn.app.wsgiapp import run
    else:
        raise SystemExit(f"bench.hashed runs 'kb' or 'gunicorn', not {program!r}")
    sys.exit(run())


if __name__ == "__main__":
    main()
