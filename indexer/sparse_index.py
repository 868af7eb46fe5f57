"""The learned-sparse side of an index version.

`sparse_chunks.npz`: one raw sparse vector per chunk (rows follow chunks.jsonl), so search can
mask internal chunks as the dense side does and the next build reuses unchanged chunks.
`sparse_articles.npz`: per article (rows follow articles.jsonl) the feature-wise max over its
chunks, L2-normalised, twice: `public` (no `::: intern` chunks) and `all`.

On disk and while a build copies rows from one version to the next, a matrix is kept as
`Rows`: float16 weights and uint16 feature ids (16 384 features), half the bytes of a
float32/int32 CSR to write, hash and read; search converts to CSR once when it loads.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse as sp

from indexer import rows

CHUNKS_FILE = "sparse_chunks.npz"
ARTICLES_FILE = "sparse_articles.npz"


class Rows(NamedTuple):
    """A sparse matrix in its stored form: CSR arrays with compact dtypes."""

    data: np.ndarray      # float16
    indices: np.ndarray   # uint16 (int32 for more than 65 536 features)
    indptr: np.ndarray    # int64
    shape: tuple[int, int]

    def csr(self) -> sp.csr_matrix:
        """The same matrix as a float32 CSR for arithmetic."""
        return sp.csr_matrix((self.data.astype(np.float32), self.indices.astype(np.int32), self.indptr),
                             shape=self.shape)


def as_rows(matrix: sp.csr_matrix) -> Rows:
    """The stored form of a CSR matrix."""
    small_ids = matrix.shape[1] <= np.iinfo(np.uint16).max + 1
    return Rows(matrix.data.astype(np.float16), matrix.indices.astype(np.uint16 if small_ids else np.int32),
                matrix.indptr.astype(np.int64), tuple(matrix.shape))


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


def _save(path: Path, **matrices: Rows) -> None:
    arrays = {}
    for name, m in matrices.items():
        arrays.update({f"{name}_data": m.data, f"{name}_indices": m.indices, f"{name}_indptr": m.indptr,
                       f"{name}_shape": np.array(m.shape)})
    with open(path, "wb") as out:   # a file object: np.savez would append .npz to the name
        np.savez(out, **arrays)


def load_rows(path: Path, *names: str) -> list[Rows]:
    """The named matrices of an .npz written by this module, in their stored form."""
    with np.load(path) as arrays:
        return [Rows(arrays[f"{n}_data"], arrays[f"{n}_indices"], arrays[f"{n}_indptr"],
                     tuple(int(x) for x in arrays[f"{n}_shape"])) for n in names]


def load(path: Path, *names: str) -> list[sp.csr_matrix]:
    """The named matrices of an .npz written by this module, as float32 CSR."""
    return [rows.csr() for rows in load_rows(path, *names)]


def assemble(previous: Rows | None, sources: np.ndarray, fresh: sp.csr_matrix) -> Rows:
    """Rows in order: `previous` row sources[i] where sources[i] >= 0, else the next row of `fresh`."""
    fresh_rows = as_rows(fresh)
    old = (previous.indptr, {"data": previous.data, "indices": previous.indices}) if previous is not None else None
    indptr, arrays = rows.gather(old, sources, (fresh_rows.indptr, {"data": fresh_rows.data,
                                                                    "indices": fresh_rows.indices}))
    return Rows(arrays["data"], arrays["indices"], indptr, (len(indptr) - 1, fresh_rows.shape[1]))


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


def _take_rows(matrix: Rows, wanted: np.ndarray) -> sp.csr_matrix:
    """The listed rows of a stored matrix as float32 CSR (only the articles being pooled anew)."""
    if len(wanted) == matrix.shape[0]:
        return matrix.csr()
    lengths = matrix.indptr[wanted + 1] - matrix.indptr[wanted]
    take = np.concatenate([np.arange(matrix.indptr[r], matrix.indptr[r + 1]) for r in wanted]) if len(wanted) \
        else np.zeros(0, dtype=np.int64)
    indptr = np.r_[0, np.cumsum(lengths)]
    return sp.csr_matrix((matrix.data[take].astype(np.float32), matrix.indices[take].astype(np.int32), indptr),
                         shape=(len(wanted), matrix.shape[1]))


def write(version_dir: Path, chunks: Rows, chunk_article: np.ndarray, chunk_internal: np.ndarray,
          n_articles: int, previous_pools: tuple | None = None, pool_sources: np.ndarray | None = None) -> list[str]:
    """Write both files of one version; returns their names (for the manifest).

    With `previous_pools` (public, all) and `pool_sources` (per article its row there, or -1),
    only the articles without a source are pooled anew: an edit costs one article, not all.
    """
    _save(version_dir / CHUNKS_FILE, chunks=chunks)
    if previous_pools is None or pool_sources is None:
        pool_sources = np.full(n_articles, -1, dtype=np.int64)
        previous_pools = (None, None)
    todo = np.flatnonzero(pool_sources < 0)
    compact = np.full(n_articles, -1, dtype=np.int64)
    compact[todo] = np.arange(len(todo))
    wanted = np.flatnonzero(compact[chunk_article] >= 0)
    sub, owner = _take_rows(chunks, wanted), compact[chunk_article[wanted]]
    public = sp.csr_matrix(sp.diags((~chunk_internal[wanted]).astype(np.float32)) @ sub)
    public.eliminate_zeros()
    _save(version_dir / ARTICLES_FILE,
          public=assemble(previous_pools[0], pool_sources, _pool(public, owner, len(todo))),
          all=assemble(previous_pools[1], pool_sources, _pool(sub, owner, len(todo))))
    return [CHUNKS_FILE, ARTICLES_FILE]
