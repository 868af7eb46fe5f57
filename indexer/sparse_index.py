"""The learned-sparse side of an index version.

`sparse_chunks/`: one raw sparse vector per chunk (rows follow chunks.jsonl), so search can
mask internal chunks as the dense side does and the next build reuses unchanged chunks, with
each row's L2 norm. `sparse_articles/`: per article (rows follow articles.jsonl) the
feature-wise max over its chunks, L2-normalised, twice: `public` (no `::: intern` chunks) and
`all`.

A matrix is kept as `Rows`: CSR arrays with float16 weights and uint16 feature ids (16 384
features), one .npy file each, so that search memory-maps them and reads only the rows of the
candidates it scores (search/sparse.py): nothing is converted or normalised at start-up, and
gunicorn workers share the pages. Versions built before this layout hold the same arrays in
one .npz per side (`sparse_chunks.npz`, `sparse_articles.npz`); they are still read.
The arithmetic is numpy on the same arrays (float32 weights, int32 ids while building): importing
scipy.sparse cost 0.2-0.35 s of every fresh `kb index`, more than the few rows an edit pools.
A delta version (indexer/delta.py) holds each matrix in two parts: the base's rows and its
own under `delta/`, with `delta/article_rows.npy` giving each article's pool row.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from indexer import delta, rows

CHUNKS_DIR = "sparse_chunks"
ARTICLES_DIR = "sparse_articles"
LEGACY_SUFFIX = ".npz"   # sparse_chunks.npz / sparse_articles.npz of older versions
NORMS = "norms"          # per-row L2 norms, stored beside the chunk matrix


class Rows(NamedTuple):
    """A sparse matrix in its stored form: CSR arrays with compact dtypes (memory-mapped when loaded)."""

    data: np.ndarray      # float16
    indices: np.ndarray   # uint16 (int32 for more than 65 536 features)
    indptr: np.ndarray    # int64
    shape: tuple[int, int]

    def csr(self):
        """The same matrix as a float32 scipy CSR (for checks against whole-matrix products)."""
        from scipy import sparse as sp

        return sp.csr_matrix((np.asarray(self.data, dtype=np.float32), np.asarray(self.indices, dtype=np.int32),
                              np.asarray(self.indptr)), shape=self.shape)

    def dot_rows(self, wanted: np.ndarray, dense_query: np.ndarray) -> np.ndarray:
        """Dot product of the listed rows with a dense vector, reading only those rows' values."""
        starts, ends = self.indptr[wanted], self.indptr[np.asarray(wanted) + 1]
        take = rows.ranges(starts, ends)
        products = self.data[take].astype(np.float32) * dense_query[self.indices[take]]
        lengths = ends - starts
        out = np.zeros(len(wanted), dtype=np.float32)
        full = lengths > 0
        if full.any():
            # reduceat sums from each row's first product to the next row's; empty rows stay 0.
            firsts = np.r_[0, np.cumsum(lengths)[:-1]][full]
            out[full] = np.add.reduceat(products, firsts)
        return out


def row_norms(matrix: Rows) -> np.ndarray:
    """Each row's L2 norm (1 for an empty row, so that dividing by it is safe)."""
    squares = np.square(np.asarray(matrix.data, dtype=np.float32))
    lengths = np.diff(np.asarray(matrix.indptr))
    norms = np.zeros(len(lengths), dtype=np.float32)
    full = lengths > 0
    if full.any():
        norms[full] = np.sqrt(np.add.reduceat(squares, np.asarray(matrix.indptr[:-1])[full]))
    norms[norms == 0] = 1.0
    return norms


def as_rows(matrix) -> Rows:
    """The stored form of a CSR matrix (Rows, or anything with data, indices, indptr and shape)."""
    small_ids = matrix.shape[1] <= np.iinfo(np.uint16).max + 1
    return Rows(matrix.data.astype(np.float16), matrix.indices.astype(np.uint16 if small_ids else np.int32),
                matrix.indptr.astype(np.int64), tuple(matrix.shape))


def _float_rows(data, indices, indptr, shape: tuple[int, int]) -> Rows:
    """Rows with float32 weights and int32 ids, the form the build computes with."""
    return Rows(np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int64), (int(shape[0]), int(shape[1])))


def chunk_matrix(vectors: list, dimension: int) -> Rows:
    """Stack per-chunk (ids, weights) pairs into CSR rows (an empty row for a missing vector)."""
    present = [vector for vector in vectors if vector is not None]
    lengths = [len(vector[0]) if vector is not None else 0 for vector in vectors]
    return _float_rows(np.concatenate([np.asarray(v[1], dtype=np.float32) for v in present]) if present
                       else np.zeros(0, np.float32),
                       np.concatenate([np.asarray(v[0], dtype=np.int32) for v in present]) if present
                       else np.zeros(0, np.int32),
                       np.r_[0, np.cumsum(lengths, dtype=np.int64)], (len(vectors), dimension))


def _save(folder: Path, **matrices: Rows) -> None:
    """One subfolder per matrix, one .npy per array (what np.load can memory-map)."""
    for name, m in matrices.items():
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        for key, value in (("data", m.data), ("indices", m.indices), ("indptr", m.indptr),
                           ("shape", np.array(m.shape, dtype=np.int64))):
            np.save(target / f"{key}.npy", np.ascontiguousarray(value))


def _legacy(version_dir: Path, folder: str) -> Path | None:
    """The .npz of a version built before the folder layout, if that is what this version has."""
    legacy = version_dir / (folder + LEGACY_SUFFIX)
    return legacy if not (version_dir / folder).is_dir() and legacy.is_file() else None


def load_rows(version_dir: Path, folder: str, *names: str) -> list[Rows]:
    """The named matrices of one side of a version, in their stored form (memory-mapped)."""
    legacy = _legacy(version_dir, folder)
    if legacy is not None:
        with np.load(legacy) as arrays:
            return [Rows(arrays[f"{n}_data"], arrays[f"{n}_indices"], arrays[f"{n}_indptr"],
                         tuple(int(x) for x in arrays[f"{n}_shape"])) for n in names]
    found = []
    for name in names:
        base = version_dir / folder / name
        arrays = {key: np.load(base / f"{key}.npy", mmap_mode="r") for key in ("data", "indices", "indptr")}
        shape = tuple(int(x) for x in np.load(base / "shape.npy"))
        found.append(Rows(arrays["data"], arrays["indices"], arrays["indptr"], shape))
    return found


def load_parts(version_dir: Path, folder: str, *names: str) -> list[list[Rows]]:
    """Per named matrix its parts: the version's own rows, or a delta version's base and delta rows."""
    found = [[matrix] for matrix in load_rows(version_dir, folder, *names)]
    if (version_dir / delta.DELTA_DIR / folder).is_dir():
        for parts, matrix in zip(found, load_rows(version_dir / delta.DELTA_DIR, folder, *names)):
            parts.append(matrix)
    return found


def load_chunk_norms(version_dir: Path, chunks: Rows | list[Rows]) -> np.ndarray:
    """The chunk rows' norms as stored at build time (computed now for an older version)."""
    path = version_dir / CHUNKS_DIR / f"{NORMS}.npy"
    if path.is_file():
        return np.load(path, mmap_mode="r")
    return np.concatenate([row_norms(part) for part in (chunks if isinstance(chunks, list) else [chunks])])


def _arrays(matrix: Rows) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    return matrix.indptr, {"data": matrix.data, "indices": matrix.indices}


def assemble(previous: Rows | list[Rows] | None, sources: np.ndarray, fresh: Rows) -> Rows:
    """Rows in order: `previous` row sources[i] where sources[i] >= 0, else the next row of `fresh`.

    `previous` may be a list of parts laid end to end (a delta version's base and delta rows).
    """
    fresh_rows = as_rows(fresh)
    parts = previous if isinstance(previous, list) else [previous] if previous is not None else []
    indptr, arrays = rows.gather_parts([_arrays(part) for part in parts], sources, _arrays(fresh_rows))
    return Rows(arrays["data"], arrays["indices"], indptr, (len(indptr) - 1, fresh_rows.shape[1]))


POOL_BLOCK_ARTICLES = 5000   # articles pooled at a time: bounds the build's memory, not its speed


def _row_of_each_value(matrix: Rows) -> np.ndarray:
    return np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))


def _pool(chunks: Rows, owner: np.ndarray, n_articles: int) -> Rows:
    """Per article, the feature-wise max over its chunks, L2-normalised (cosine scoring)."""
    width = chunks.shape[1]
    # Features descending within a row, as versions built with scipy's product have them: a score
    # sums its products in stored order, so a pool made now scores as one made before (its weights
    # equal, or where the norm's sum rounds differently one float16 step apart).
    keys = owner[_row_of_each_value(chunks)].astype(np.int64) * width + (width - 1 - chunks.indices.astype(np.int64))
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    if len(keys):
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        values = np.maximum.reduceat(chunks.data[order], starts).astype(np.float32)
        unique = keys[starts]
        nonzero = values != 0   # a feature whose chunks all weigh 0 adds nothing to a dot product
        values, unique = values[nonzero], unique[nonzero]
        article, features = unique // width, width - 1 - unique % width
    else:
        values, article, features = np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    pooled = _float_rows(values, features, np.r_[0, np.cumsum(np.bincount(article, minlength=n_articles))],
                         (n_articles, width))
    # float32 throughout, as the weights are stored: row norms, then each row divided by its own.
    norms = row_norms(pooled)
    scale = (np.float32(1) / norms).astype(np.float32)
    return pooled._replace(data=(pooled.data * scale[_row_of_each_value(pooled)]).astype(np.float32))


def _public(chunks: Rows, internal: np.ndarray) -> Rows:
    """The rows without the weights of internal chunks (those rows left empty), and without zero weights."""
    keep = ~internal[_row_of_each_value(chunks)] & (chunks.data != 0)
    kept_before = np.r_[0, np.cumsum(keep, dtype=np.int64)]   # per value position, the values kept before it
    return _float_rows(chunks.data[keep], chunks.indices[keep], kept_before[chunks.indptr], chunks.shape)


def _take_rows(matrix: Rows, wanted: np.ndarray) -> Rows:
    """The listed rows of a stored matrix with float32 weights (only the articles being pooled anew)."""
    if len(wanted) == matrix.shape[0]:
        return _float_rows(matrix.data, matrix.indices, matrix.indptr, matrix.shape)
    starts, ends = matrix.indptr[wanted], matrix.indptr[wanted + 1]
    take = rows.ranges(starts, ends)
    return _float_rows(matrix.data[take], matrix.indices[take], np.r_[0, np.cumsum(ends - starts)],
                       (len(wanted), matrix.shape[1]))


def chunk_norms(chunks: Rows, previous_norms: np.ndarray | None = None,
                sources: np.ndarray | None = None) -> np.ndarray:
    """Row norms of `chunks`: copied where row i is the previous version's row sources[i], computed elsewhere.

    Computing them all converts every weight to float32: 3.3 s of a one-edit build at 100 000 articles.
    """
    if previous_norms is None or sources is None:
        return row_norms(chunks)
    norms = np.empty(chunks.shape[0], dtype=np.float32)
    copied = sources >= 0
    norms[copied] = previous_norms[sources[copied]]
    fresh = np.flatnonzero(~copied)
    if len(fresh):
        norms[fresh] = row_norms(_take_rows(chunks, fresh))
    return norms


def write(version_dir: Path, chunks: Rows, chunk_article: np.ndarray, chunk_internal: np.ndarray,
          n_articles: int, norms: np.ndarray, previous_pools: tuple | None = None,
          pool_sources: np.ndarray | None = None, base: tuple[int, int] | None = None) -> list[str]:
    """Write both sides of one version; returns their folder names (for the manifest).

    `chunks` are the rows this version writes: all of them, or, with `base` = (chunk rows, pool rows)
    of a base already linked in (indexer/delta.py), the rows after the base's, under delta/.
    `chunk_article`, `chunk_internal` and `norms` cover every row (-1: a dead row of the base).
    `previous_pools` (public, all: each a list of parts) and `pool_sources` (per article its pool row
    there, or -1): only articles without a source are pooled anew, so an edit costs one article.
    """
    base_chunks, base_pools = base or (0, 0)
    target = version_dir / delta.DELTA_DIR if base else version_dir
    _save(target / CHUNKS_DIR, chunks=chunks)
    (version_dir / CHUNKS_DIR).mkdir(exist_ok=True)
    np.save(version_dir / CHUNKS_DIR / f"{NORMS}.npy", np.asarray(norms, dtype=np.float32))
    if previous_pools is None or pool_sources is None:
        pool_sources = np.full(n_articles, -1, dtype=np.int64)
        previous_pools = ([], [])
    todo = np.flatnonzero(pool_sources < 0)
    pooled_public, pooled_all = [], []
    # Block by block: pooling sorts 64-bit keys of every non-zero, several copies of them at
    # once; over all 677 000 chunks of 100 000 articles that alone took ~15 GB.
    for block in np.array_split(todo, max(1, -(-len(todo) // POOL_BLOCK_ARTICLES))):
        compact = np.full(n_articles, -1, dtype=np.int64)
        compact[block] = np.arange(len(block))
        owners = np.where(chunk_article >= 0, compact[chunk_article], -1)
        wanted = np.flatnonzero(owners >= 0)
        # An article pooled anew is new or edited: its chunks are among the rows written now.
        sub, owner = _take_rows(chunks, wanted - base_chunks), owners[wanted]
        pooled_public.append(_pool(_public(sub, chunk_internal[wanted]), owner, len(block)))
        pooled_all.append(_pool(sub, owner, len(block)))
    # Articles whose pool row is in the base keep it (delta.write_article_rows); the others are written in order.
    select = pool_sources[~delta.kept_in_base(pool_sources, base_pools)] if base else pool_sources
    _save(target / ARTICLES_DIR,
          public=assemble(list(previous_pools[0]), select, _stack(pooled_public, chunks.shape[1])),
          all=assemble(list(previous_pools[1]), select, _stack(pooled_all, chunks.shape[1])))
    return [CHUNKS_DIR, ARTICLES_DIR]


def _stack(blocks: list[Rows], width: int) -> Rows:
    """The pooled blocks one under the other (an empty matrix for none)."""
    if not blocks:
        return _float_rows(np.zeros(0), np.zeros(0), np.zeros(1), (0, width))
    offsets = np.cumsum([0] + [len(block.data) for block in blocks[:-1]])
    indptr = np.concatenate([[0]] + [block.indptr[1:] + offset for block, offset in zip(blocks, offsets)])
    return _float_rows(np.concatenate([block.data for block in blocks]),
                       np.concatenate([block.indices for block in blocks]), indptr,
                       (sum(block.shape[0] for block in blocks), width))
