"""The learned-sparse side of an index version.

`sparse_chunks.npz`: one raw sparse vector per chunk (rows follow chunks.jsonl), so search can
mask internal chunks as the dense side does and the next build reuses unchanged chunks.
`sparse_articles.npz`: per article (rows follow articles.jsonl) the feature-wise max over its
chunks, L2-normalised, twice: `public` (no `::: intern` chunks) and `all`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import sparse as sp

CHUNKS_FILE = "sparse_chunks.npz"
ARTICLES_FILE = "sparse_articles.npz"


def chunk_matrix(vectors: list, dimension: int) -> sp.csr_matrix:
    """Stack per-chunk (ids, weights) pairs into a CSR matrix (an empty row for a missing vector)."""
    indptr, indices, data = [0], [], []
    for vector in vectors:
        if vector is not None:
            indices.append(vector[0])
            data.append(vector[1])
        indptr.append(indptr[-1] + (len(vector[0]) if vector is not None else 0))
    return sp.csr_matrix((np.concatenate(data) if data else np.zeros(0, np.float32),
                          np.concatenate(indices) if indices else np.zeros(0, np.int32), np.array(indptr)),
                         shape=(len(vectors), dimension), dtype=np.float32)


def _save(path: Path, **matrices: sp.csr_matrix) -> None:
    arrays = {}
    for name, m in matrices.items():
        arrays.update({f"{name}_data": m.data, f"{name}_indices": m.indices, f"{name}_indptr": m.indptr,
                       f"{name}_shape": np.array(m.shape)})
    with open(path, "wb") as out:   # a file object: np.savez would append .npz to the name
        np.savez(out, **arrays)


def load(path: Path, *names: str) -> list[sp.csr_matrix]:
    """The named CSR matrices of an .npz written by this module."""
    with np.load(path) as arrays:
        return [sp.csr_matrix((arrays[f"{n}_data"], arrays[f"{n}_indices"], arrays[f"{n}_indptr"]),
                              shape=tuple(arrays[f"{n}_shape"])) for n in names]


def previous_rows(version_dir: Path, keys: list[str]) -> dict[str, tuple]:
    """Chunk key → (ids, weights) of an earlier version's sparse vectors (empty if it has none)."""
    try:
        (matrix,) = load(version_dir / CHUNKS_FILE, "chunks")
    except (OSError, ValueError, KeyError):
        return {}
    if matrix.shape[0] != len(keys):
        return {}
    return {key: (matrix.indices[matrix.indptr[i]:matrix.indptr[i + 1]],
                  matrix.data[matrix.indptr[i]:matrix.indptr[i + 1]]) for i, key in enumerate(keys)}


def _pool(chunks: sp.csr_matrix, owner: np.ndarray, n_articles: int) -> sp.csr_matrix:
    """Per article, the feature-wise max over its chunks, L2-normalised (cosine scoring)."""
    coo = chunks.tocoo()
    width = chunks.shape[1]
    keys = owner[coo.row].astype(np.int64) * width + coo.col
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    if len(keys):
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        values = np.maximum.reduceat(coo.data[order], starts)
        unique = keys[starts]
        matrix = sp.csr_matrix((values.astype(np.float32), (unique // width, unique % width)),
                               shape=(n_articles, width))
    else:
        matrix = sp.csr_matrix((n_articles, width), dtype=np.float32)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1 / norms) @ matrix, dtype=np.float32)


def write(version_dir: Path, vectors: list, dimension: int, chunk_article: np.ndarray,
          chunk_internal: np.ndarray, n_articles: int) -> list[str]:
    """Write both files of one version; returns their names (for the manifest)."""
    chunks = chunk_matrix(vectors, dimension)
    _save(version_dir / CHUNKS_FILE, chunks=chunks)
    public = sp.csr_matrix(sp.diags((~chunk_internal).astype(np.float32)) @ chunks)
    public.eliminate_zeros()
    _save(version_dir / ARTICLES_FILE, public=_pool(public, chunk_article, n_articles),
          all=_pool(chunks, chunk_article, n_articles))
    return [CHUNKS_FILE, ARTICLES_FILE]
