"""Row-wise copying of ragged arrays (CSR-like: an indptr and one or more value arrays).

Both the sparse vectors and the keyword matrix of a version are stored row per
article or chunk. A build after an edit takes almost every row from the previous
version in order, so it copies runs of consecutive rows as whole slices: a few
large copies instead of one per row.
"""
from __future__ import annotations

import numpy as np


def gather(previous: tuple[np.ndarray, dict[str, np.ndarray]] | None, sources: np.ndarray,
           fresh: tuple[np.ndarray, dict[str, np.ndarray]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(indptr, arrays) of rows in order: previous row sources[i] where >= 0, else the next fresh row."""
    fresh_indptr, fresh_arrays = fresh
    if previous is None or not (sources >= 0).any():
        return fresh_indptr.astype(np.int64), fresh_arrays
    previous_indptr, previous_arrays = previous
    n_previous = len(previous_indptr) - 1
    select = sources.astype(np.int64).copy()
    new = np.flatnonzero(select < 0)
    select[new] = n_previous + np.arange(len(new))
    pieces: dict[str, list[np.ndarray]] = {name: [] for name in previous_arrays}
    lengths = []
    # A run never crosses from the previous rows into the fresh ones (numbered from n_previous on).
    for start, end in runs(select, cut=select[1:] == n_previous):
        first = int(select[start])
        indptr, arrays = (previous_indptr, previous_arrays) if first < n_previous else (fresh_indptr, fresh_arrays)
        first -= 0 if first < n_previous else n_previous
        a, b = indptr[first], indptr[first + end - start]
        for name, values in arrays.items():
            pieces[name].append(values[a:b].astype(previous_arrays[name].dtype, copy=False))
        lengths.append(np.diff(indptr[first:first + end - start + 1]))
    out_indptr = np.zeros(len(select) + 1, dtype=np.int64)
    if lengths:
        np.cumsum(np.concatenate(lengths), out=out_indptr[1:])
    return out_indptr, {name: np.concatenate(parts) if parts else previous_arrays[name][:0]
                        for name, parts in pieces.items()}


def runs(*columns: np.ndarray, cut: np.ndarray | None = None) -> list[tuple[int, int]]:
    """[start, end) of the maximal runs of positions where every column steps by exactly 1.

    `cut` (one flag per position after the first) forces a new run to start there.
    """
    count = len(columns[0])
    breaks = np.zeros(max(count - 1, 0), dtype=bool)
    for column in columns:
        breaks |= np.diff(column) != 1
    if cut is not None:
        breaks |= cut
    starts = np.flatnonzero(breaks) + 1
    return list(zip(np.r_[0, starts].tolist(), np.r_[starts, count].tolist())) if count else []


def ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Every index of the half-open ranges [starts[i], ends[i]) in order, without a Python loop."""
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    lengths = ends - starts
    total = int(lengths.sum()) if len(lengths) else 0
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    # Each range contributes start, start+1, ...: an arange shifted by each range's offset.
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(total, dtype=np.int64) + offsets


def copy_rows(target: np.ndarray, source: np.ndarray, sources: np.ndarray) -> None:
    """target[i] = source[sources[i]] wherever sources[i] >= 0, one slice per run of consecutive rows."""
    rows = np.flatnonzero(sources >= 0)
    if not len(rows):
        return
    origin = sources[rows]
    for start, end in runs(rows, origin):
        first, length = int(origin[start]), end - start
        target[rows[start]:rows[start] + length] = source[first:first + length]


def line_offsets(lines: list[bytes]) -> np.ndarray:
    """Byte offset of each line in the file these lines make, plus the file's length (int64)."""
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum([len(line) for line in lines], out=offsets[1:])
    return offsets


def read_line(path, offsets: np.ndarray, row: int) -> bytes:
    """Line `row` of a file whose line offsets are `offsets` (one seek and one read, nothing else parsed)."""
    start, end = int(offsets[row]), int(offsets[row + 1])
    with open(path, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start)
