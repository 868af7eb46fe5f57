"""Delta versions: after an edit, share the big row files of a base version and write only what changed.

A version stores per chunk a dense vector, a sparse vector and a line of text, and per
article two sparse pools: at 100 000 articles 2.5 GB that a build after one edit used to
gather and write again (and hash) although all but a few rows were the same. A delta version
instead hard-links those files from its base (the last version written whole) and writes the
rows of new and edited articles under `delta/`:

    vectors.faiss, chunks.jsonl, sparse_chunks/chunks/, sparse_articles/{public,all}/   (links)
    delta/vectors.faiss, delta/chunks.jsonl, delta/sparse_chunks/chunks/, delta/sparse_articles/

Chunk row r < base is row r of the base's files, row r >= base is row r - base of delta's.
Base rows of edited or removed articles stay in the files but are dead (their article in the
chunk table is -1), so no search returns them. The stores with a row per article (sparse pools,
keyword matrix: `keyword_matrix.npz` linked, `delta/keyword_matrix.npz`) are numbered the same
way, and `delta/article_rows.npy` gives each article's row there (the base's term-major keyword
arrays, `keyword_columns/`, are linked too, numbered by base row). `articles.jsonl` is linked
from the previous version (not necessarily the base) when the set of article ids is unchanged,
with the new records in `delta/articles.jsonl` (indexer/article_table.py), and so are the
article columns when the edit left them as they were. The small tables (chunk table, article
lines, digests, vocabulary) are still written whole.

Hard links, not copies: a version never changes once written, so two versions can share a
file; removing an old version removes a name, not the data. When the delta grows past
MAX_DELTA_SHARE of the base, or the base holds too many dead rows, the next build writes the
whole version again (a new base).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

DELTA_DIR = "delta"
ARTICLE_ROWS = "delta/article_rows.npy"
# Where the rows of the base live: linked into every delta version built on it.
BASE_VECTORS = "vectors.faiss"
BASE_TEXT = "chunks.jsonl"
BASE_MATRIX = "keyword_matrix.npz"
BASE_SPARSE = ("sparse_chunks/chunks", "sparse_articles/public", "sparse_articles/all")
BASE_COLUMNS = "keyword_columns"   # the matrix term by term (indexer/keyword_columns.py), when the base has it
# A delta version is built only over a base this large (in chunks): below it a whole build after an
# edit takes well under a second, and one layout is simpler to read.
MIN_BASE_CHUNKS = 20_000
# Past this share of the base's rows in the delta (or dead in the base), write the whole version again:
# every search scans dead rows and a second index, and every delta build rewrites the delta.
MAX_DELTA_SHARE = 0.10


def worth_it(base_rows: int, delta_rows: int, dead_rows: int) -> bool:
    """True when the next version should be a delta of its base rather than written whole."""
    return base_rows >= max(MIN_BASE_CHUNKS, 1) and max(delta_rows, dead_rows) <= MAX_DELTA_SHARE * base_rows


def base_files(version_dir: Path, sparse: bool) -> list[str]:
    """The files of a base's rows (relative to the version folder), in the order they are linked."""
    names = [BASE_VECTORS, BASE_TEXT, BASE_MATRIX]
    folders = (BASE_COLUMNS, *BASE_SPARSE) if sparse else (BASE_COLUMNS,)
    for folder in folders:
        if (version_dir / folder).is_dir():
            names += sorted(f"{folder}/{p.name}" for p in (version_dir / folder).iterdir() if p.is_file())
    return names


def link_base(base_dir: Path, version_dir: Path, names: list[str], checksums: dict) -> dict[str, list]:
    """Hard-link the named files of the base into the new version; their [size, sha256] from the base's manifest.

    Falls back to copying where the file system has no hard links. The checksums are the base's own:
    the same bytes (the same inode), so the new version need not hash them again.
    """
    known = {}
    for name in names:
        source, target = base_dir / name, version_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except FileExistsError:
            raise
        except OSError:   # no hard links here (another file system kind): a copy is slower, never wrong
            shutil.copyfile(source, target)
        if name in checksums:
            known[name] = checksums[name]
    return known


def article_rows(version_dir: Path, count: int) -> np.ndarray:
    """Per article, its row in the stores with a row per article (base rows, then delta rows); 0..count-1 else."""
    path = version_dir / ARTICLE_ROWS
    return np.load(path) if path.is_file() else np.arange(count, dtype=np.int64)


def write_article_rows(version_dir: Path, sources: np.ndarray, base_rows: int) -> np.ndarray:
    """Place each article: at its base row if it has one (`sources`: previous rows, -1 new), else after the base.

    Writes and returns the map; the stores write the articles not kept in the base in article order.
    """
    rows = np.empty(len(sources), dtype=np.int64)
    kept = kept_in_base(sources, base_rows)
    rows[kept] = sources[kept]
    rows[~kept] = base_rows + np.arange(int((~kept).sum()))
    (version_dir / DELTA_DIR).mkdir(exist_ok=True)
    np.save(version_dir / ARTICLE_ROWS, rows)
    return rows


def kept_in_base(sources: np.ndarray, base_rows: int) -> np.ndarray:
    """Per article: is its row that of the base (an unchanged article the base holds)?"""
    return (sources >= 0) & (sources < base_rows)
