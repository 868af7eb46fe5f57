"""The chunk table of an index version: per chunk its article, kind, internal flag, key and text.

`chunks.jsonl` holds the text (one JSON object a line, readable by people);
`chunk_table.npz` holds the columns a program needs for every chunk, plus the
byte offset of each line. Searchers and the next build read the columns in
milliseconds and a chunk's text only when they show it: with 100 000 articles
there are about 700 000 chunks, too many to parse at every start.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from indexer.chunking import Chunk
from indexer.rows import line_offsets, read_line

TEXT_FILE = "chunks.jsonl"
TABLE_FILE = "chunk_table.npz"
KINDS = ("title", "question", "passage", "internal")


@dataclass
class ChunkTable:
    """Columns of every chunk of a version; `article` indexes that version's articles.jsonl."""

    article: np.ndarray   # int32
    kind: np.ndarray      # uint8, index into KINDS
    internal: np.ndarray  # bool
    keys: np.ndarray      # bytes (S24): Chunk.key(), for reusing embeddings
    offsets: np.ndarray   # int64 byte offset of each line of chunks.jsonl, plus the file's length

    def __len__(self) -> int:
        return len(self.article)

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
        first[chunk_article[starts]] = starts
        last[chunk_article[starts]] = np.r_[starts[1:], len(chunk_article)]
    return first, last


def chunk_line(chunk: Chunk) -> bytes:
    """The chunks.jsonl line of one chunk (with its key)."""
    record = asdict(chunk)
    record["key"] = chunk.key()
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def write(version_dir: Path, lines: list[bytes], article: np.ndarray, kind: np.ndarray, internal: np.ndarray,
          keys: np.ndarray) -> list[str]:
    """Write chunks.jsonl and its table; returns the file names (for the manifest)."""
    offsets = line_offsets(lines)
    with open(version_dir / TEXT_FILE, "wb") as out:
        out.writelines(lines)
    with open(version_dir / TABLE_FILE, "wb") as out:  # a file object: np.savez would append .npz
        np.savez(out, article=article.astype(np.int32), kind=kind.astype(np.uint8), internal=internal.astype(bool),
                 keys=keys.astype("S24"), offsets=offsets)
    return [TEXT_FILE, TABLE_FILE]


def read(version_dir: Path, article_position: dict[str, int] | None = None) -> ChunkTable:
    """The table of a version (computed from chunks.jsonl for versions written before the table existed)."""
    if (version_dir / TABLE_FILE).exists():
        with np.load(version_dir / TABLE_FILE) as data:
            return ChunkTable(data["article"], data["kind"], data["internal"], data["keys"], data["offsets"])
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


def read_lines(version_dir: Path) -> list[bytes]:
    """Every line of chunks.jsonl, as bytes (a build copies those of unchanged articles as they are)."""
    with open(version_dir / TEXT_FILE, "rb") as handle:
        return handle.readlines()


class ChunkTexts:
    """Reads one chunk's record from chunks.jsonl by offset, without holding every text in memory."""

    def __init__(self, version_dir: Path, offsets: np.ndarray):
        self.path = version_dir / TEXT_FILE
        self.offsets = offsets

    def record(self, row: int) -> dict:
        """The JSON record of chunk `row`."""
        return json.loads(read_line(self.path, self.offsets, row))
