"""The chunk table of an index version: per chunk its article, kind, internal flag, key and text.

`chunks.jsonl` holds the text (one JSON object a line, readable by people);
`chunk_table.npz` holds the columns a program needs for every chunk, plus the
byte offset of each line. Searchers and the next build read the columns in
milliseconds and a chunk's text only when they show it: with 100 000 articles
there are about 700 000 chunks, too many to parse at every start.

A version built as a delta (indexer/delta.py) keeps its first `base` rows in the
base's chunks.jsonl (a hard link) and the rest in delta/chunks.jsonl; rows of the
base whose article was edited or removed since are dead: their article is -1.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from indexer.chunking import Chunk
from indexer.rows import line_offsets, read_line

TEXT_FILE = "chunks.jsonl"
DELTA_TEXT_FILE = "delta/chunks.jsonl"
TABLE_FILE = "chunk_table.npz"
KINDS = ("title", "question", "passage", "internal")


@dataclass
class ChunkTable:
    """Columns of every chunk of a version; `article` indexes that version's articles.jsonl."""

    article: np.ndarray   # int32 (-1: a dead row of the base part)
    kind: np.ndarray      # uint8, index into KINDS
    internal: np.ndarray  # bool
    keys: np.ndarray      # bytes (S24): Chunk.key(), for reusing embeddings
    offsets: np.ndarray   # int64 byte offset of each line of chunks.jsonl, plus the file's length
                          # (a delta version: the base file's, then delta/chunks.jsonl's)
    base: int = -1        # rows in chunks.jsonl; the rest are in delta/chunks.jsonl (-1: all rows)

    def __post_init__(self):
        if self.base < 0:
            self.base = len(self.article)

    def __len__(self) -> int:
        return len(self.article)

    @property
    def delta(self) -> bool:
        """True when some rows live in delta/ (the version was built as a delta of its base)."""
        return self.base < len(self.article) or len(self.offsets) > len(self.article) + 1

    def article_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Per article position, the first and one-past-last chunk row (chunks of an article are contiguous)."""
        return article_rows(self.article)


def article_rows(chunk_article: np.ndarray, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last chunk row of each of `count` articles (default: up to the last one with chunks)."""
    if count is None:
        count = int(chunk_article.max()) + 1 if len(chunk_article) else 0
    first = np.zeros(count, dtype=np.int64)
    last = np.zeros(count, dtype=np.int64)
    if len(chunk_article):
        starts = np.flatnonzero(np.r_[True, chunk_article[1:] != chunk_article[:-1]])
        ends = np.r_[starts[1:], len(chunk_article)]
        live = chunk_article[starts] >= 0   # dead rows of a base part belong to no article
        first[chunk_article[starts[live]]] = starts[live]
        last[chunk_article[starts[live]]] = ends[live]
    return first, last


def chunk_line(chunk: Chunk) -> bytes:
    """The chunks.jsonl line of one chunk (with its key)."""
    record = asdict(chunk)
    record["key"] = chunk.key()
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def write(version_dir: Path, lines: list[bytes], article: np.ndarray, kind: np.ndarray, internal: np.ndarray,
          keys: np.ndarray, base_offsets: np.ndarray | None = None) -> list[str]:
    """Write chunks.jsonl and its table; returns the file names (for the manifest).

    With `base_offsets` (the line offsets of a base's chunks.jsonl, linked into this version
    already) `lines` are the rows after the base's, written to delta/chunks.jsonl.
    """
    offsets = line_offsets(lines)
    text_file, base = TEXT_FILE, len(article)
    if base_offsets is not None:
        text_file, base = DELTA_TEXT_FILE, len(base_offsets) - 1
        offsets = np.concatenate([base_offsets, offsets])
        (version_dir / text_file).parent.mkdir(exist_ok=True)
    with open(version_dir / text_file, "wb") as out:
        out.writelines(lines)
    with open(version_dir / TABLE_FILE, "wb") as out:  # a file object: np.savez would append .npz
        np.savez(out, article=article.astype(np.int32), kind=kind.astype(np.uint8), internal=internal.astype(bool),
                 keys=keys.astype("S24"), offsets=offsets, base=np.array(base, dtype=np.int64))
    return [text_file, TABLE_FILE]


def read(version_dir: Path, article_position: dict[str, int] | None = None) -> ChunkTable:
    """The table of a version (computed from chunks.jsonl for versions written before the table existed)."""
    if (version_dir / TABLE_FILE).exists():
        with np.load(version_dir / TABLE_FILE) as data:
            base = int(data["base"]) if "base" in data.files else -1
            return ChunkTable(data["article"], data["kind"], data["internal"], data["keys"], data["offsets"], base)
    if article_position is None:
        raise FileNotFoundError(version_dir / TABLE_FILE)
    article, kind, internal, keys, offsets = [], [], [], [], [0]
    with open(version_dir / TEXT_FILE, "rb") as handle:
        for line in handle:
            record = json.loads(line)
            article.append(article_position[record["article_id"]])
            kind.append(KINDS.index(record["kind"]))
            internal.append(record["internal"])
            keys.append(record.get("key", ""))
            offsets.append(offsets[-1] + len(line))
    return ChunkTable(np.array(article, dtype=np.int32), np.array(kind, dtype=np.uint8),
                      np.array(internal, dtype=bool), np.array(keys, dtype="S24"), np.array(offsets, dtype=np.int64))


def read_lines(version_dir: Path, delta: bool = False) -> list[bytes]:
    """Every line of chunks.jsonl (or of delta/chunks.jsonl), as bytes (a build copies those of unchanged articles)."""
    with open(version_dir / (DELTA_TEXT_FILE if delta else TEXT_FILE), "rb") as handle:
        return handle.readlines()


class ChunkTexts:
    """Reads one chunk's record from chunks.jsonl by offset, without holding every text in memory."""

    def __init__(self, version_dir: Path, offsets: np.ndarray, base: int | None = None):
        self.path = version_dir / TEXT_FILE
        self.delta_path = version_dir / DELTA_TEXT_FILE
        self.base = len(offsets) - 1 if base is None else base
        self.offsets = offsets[:self.base + 1]
        self.delta_offsets = offsets[self.base + 1:]

    def record(self, row: int) -> dict:
        """The JSON record of chunk `row`."""
        if row < self.base:
            return json.loads(read_line(self.path, self.offsets, row))
        return json.loads(read_line(self.delta_path, self.delta_offsets, row - self.base))
