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
    return gather_parts([previous] if previous is not None else [], sources, fresh)


def gather_parts(parts: list[tuple[np.ndarray, dict[str, np.ndarray]]], sources: np.ndarray,
                 fresh: tuple[np.ndarray, dict[str, np.ndarray]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Like gather(), where the previous rows are `parts` laid end to end (a base and a delta part)."""
    fresh_indptr, fresh_arrays = fresh
    if not parts or not (sources >= 0).any():
        return fresh_indptr.astype(np.int64), fresh_arrays
    parts = [*parts, fresh]
    bounds = np.cumsum([0] + [len(indptr) - 1 for indptr, _ in parts])
    select = sources.astype(np.int64).copy()
    new = np.flatnonzero(select < 0)
    select[new] = bounds[-2] + np.arange(len(new))
    part_of = np.searchsorted(bounds, select, side="right") - 1
    dtypes = {name: values.dtype for name, values in parts[0][1].items()}
    pieces: dict[str, list[np.ndarray]] = {name: [] for name in dtypes}
    lengths = []
    # A run never crosses from one part into the next.
    for start, end in runs(select, cut=part_of[1:] != part_of[:-1]):
        part = int(part_of[start])
        indptr, arrays = parts[part]
        first = int(select[start] - bounds[part])
        a, b = indptr[first], indptr[first + end - start]
        for name, values in arrays.items():
            pieces[name].append(values[a:b].astype(dtypes[name], copy=False))
        lengths.append(np.diff(indptr[first:first + end - start + 1]))
    out_indptr = np.zeros(len(select) + 1, dtype=np.int64)
    if lengths:
        np.cumsum(np.concatenate(lengths), out=out_indptr[1:])
    return out_indptr, {name: np.concatenate(found) if found else parts[0][1][name][:0]
                        for name, found in pieces.items()}


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


def copy_rows(target: np.ndarray, source: np.ndarray | list[np.ndarray], sources: np.ndarray) -> None:
    """target[i] = source[sources[i]] wherever sources[i] >= 0, one slice per run of consecutive rows.

    `source` may be a list of parts laid end to end (a base and a delta part).
    """
    parts = source if isinstance(source, list) else [source]
    bounds = np.cumsum([0] + [len(part) for part in parts])
    rows = np.flatnonzero(sources >= 0)
    if not len(rows):
        return
    origin = sources[rows]
    part_of = np.searchsorted(bounds, origin, side="right") - 1
    for start, end in runs(rows, origin, cut=part_of[1:] != part_of[:-1]):
        part = int(part_of[start])
        first, length = int(origin[start] - bounds[part]), end - start
        target[rows[start]:rows[start] + length] = parts[part][first:first + length]


def line_offsets(lines: list[bytes]) -> np.ndarray:
    """Byte offset of each line in the file these lines make, plus the file's length (int64)."""
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum([len(line) for line in lines], out=offsets[1:])
    return offsets


def read_line(path, offsets: np.ndarray, row: int) -> bytes:
    """Line `row` of a file whose line offsets are `offsets` (one seek and one read, nothing else parsed)."""
    return read_span(path, int(offsets[row]), int(offsets[row + 1]))


def read_span(path, start: int, end: int) -> bytes:
    """Bytes [start, end) of a file: one seek and one read."""
    with open(path, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start)
