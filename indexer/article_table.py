"""The article table of an index version: per article the columns searches filter on, and where its record is.

`articles.jsonl` holds every article's record (one JSON object a line);
`article_lines.npy` gives per article, in the same order, where its line is, and
`article_columns.json` the few fields that filters, lists and menus need for every
article (id, office, answer group, language, audience, ...). A serving process
reads the table at start and an article's record only when it shows it: at
100 000 articles, parsing every record took 7 s of start-up and 560 MiB of memory.

A delta version (indexer/delta.py) links the previous version's articles.jsonl and
writes the lines of new and edited articles to delta/articles.jsonl; its lines then
give per article the file (part 0 or 1) and the line's start and end. An edit that
leaves every column as it was (the usual one: an answer's text) links the previous
version's columns file too: at 100 000 articles writing it took 0.3 s of every build.
Versions of before 2026-12 hold both in one `article_table.json`; they are still read.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.rows import line_offsets, read_span
from kb.markdown import plain_text
from kb.schema import Article

TEXT_FILE = "articles.jsonl"
DELTA_TEXT_FILE = "delta/articles.jsonl"
LINES_FILE = "article_lines.npy"        # int64 (3, n): part, start byte, end byte of each article's line
COLUMNS_FILE = "article_columns.json"   # {column name: [value per article]}
LEGACY_TABLE_FILE = "article_table.json"   # both in one file (versions written before 2026-12)
# The fields every article has a column for (what a search filter or a list of articles reads).
COLUMNS = ("id", "office", "group", "language", "audience", "translation_of", "valid_until", "title")


def columns_of(articles: list[Article]) -> dict[str, list]:
    """The table's columns of these articles (dates as ISO strings, missing values as None)."""
    columns: dict[str, list] = {name: [getattr(article, name) for article in articles] for name in COLUMNS}
    columns["valid_until"] = [day.isoformat() if day is not None else None for day in columns["valid_until"]]
    return columns


def record(article: Article) -> dict:
    """An article's line: its record, and the plain text of its public answer.

    Every search shows up to ten answers' snippets, made from that text: rendering the Markdown
    again at search time was a third of a keyword search at 10 000 articles (1.5 ms an article
    not seen since the serving process started).
    """
    return article.to_record() | {"plain": plain_text(article.public_body)}


@dataclass
class Lines:
    """Where each article's record is: file (0 articles.jsonl, 1 delta/articles.jsonl), start and end byte."""

    part: np.ndarray    # uint8
    start: np.ndarray   # int64
    end: np.ndarray     # int64

    @classmethod
    def whole(cls, offsets: np.ndarray) -> Lines:
        """The lines of one file, one after the other (line offsets plus the file's length)."""
        return cls(np.zeros(len(offsets) - 1, dtype=np.uint8), offsets[:-1], offsets[1:])

    def read(self, version_dir: Path, row: int) -> bytes:
        """The record line of article `row` (one seek and one read)."""
        return read_span(version_dir / (DELTA_TEXT_FILE if self.part[row] else TEXT_FILE),
                         int(self.start[row]), int(self.end[row]))

    def read_all(self, version_dir: Path) -> list[bytes]:
        """Every article's line, in article order."""
        files = [(version_dir / TEXT_FILE).read_bytes()]
        if self.part.any():
            files.append((version_dir / DELTA_TEXT_FILE).read_bytes())
        return [files[part][start:end] for part, start, end in
                zip(self.part.tolist(), self.start.tolist(), self.end.tolist())]


def columns_reused(articles: list[Article], sources: np.ndarray, previous: dict[str, list]) -> dict[str, list]:
    """columns_of(articles), taking the row sources[i] of a previous table's columns where it is >= 0.

    Only where those rows are known to be the same (an unchanged article, same set of ids).
    """
    fresh = np.flatnonzero(sources < 0).tolist()
    made = columns_of([articles[i] for i in fresh])
    at = sources.tolist()
    columns = {}
    for name in COLUMNS:
        old = previous[name]
        column = [old[row] if row >= 0 else None for row in at]
        for i, value in zip(fresh, made[name]):
            column[i] = value
        columns[name] = column
    return columns


def unchanged_columns(version_dir: Path, lines: Lines, articles: list[Article], sources: np.ndarray,
                      position: dict[str, int]) -> bool:
    """Are these articles' columns those of the version's COLUMNS_FILE, row for row (it can be linked)?

    `sources`: per article its row there when unchanged (same digest and context, so the same columns), else -1.
    Only the other articles' old records are read and compared: for an edit, a line or two.
    """
    if len(articles) != len(lines.part) or not (version_dir / COLUMNS_FILE).is_file():
        return False
    if not np.all((sources < 0) | (sources == np.arange(len(sources)))):
        return False
    changed = np.flatnonzero(sources < 0).tolist()
    if any(position.get(articles[i].id) != i for i in changed):
        return False
    try:
        old = [Article.from_dict(json.loads(lines.read(version_dir, i))) for i in changed]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return columns_of(old) == columns_of([articles[i] for i in changed])


def write(version_dir: Path, lines: list[bytes], columns: dict[str, list]) -> list[str]:
    """Write articles.jsonl (these lines) and its table; returns the file names (for the manifest)."""
    offsets = line_offsets(lines)
    with open(version_dir / TEXT_FILE, "wb") as out:
        out.writelines(lines)
    _write_lines(version_dir, Lines.whole(offsets))
    write_columns(version_dir, columns)
    return [TEXT_FILE, LINES_FILE, COLUMNS_FILE]


def write_delta(version_dir: Path, kept: np.ndarray, linked: Lines, new_lines: list[bytes],
                columns: dict[str, list] | None) -> list[str]:
    """The table of a delta version: `kept` articles' lines are at `linked` in the linked articles.jsonl
    (part 0 there), the others are `new_lines`, in article order, written to delta/articles.jsonl.

    `columns` None: the caller has linked a COLUMNS_FILE that holds them.
    """
    offsets = line_offsets(new_lines)
    (version_dir / DELTA_TEXT_FILE).parent.mkdir(exist_ok=True)
    with open(version_dir / DELTA_TEXT_FILE, "wb") as out:
        out.writelines(new_lines)
    part = np.where(kept, 0, 1).astype(np.uint8)
    start, end = np.zeros(len(kept), dtype=np.int64), np.zeros(len(kept), dtype=np.int64)
    start[kept], end[kept] = linked.start, linked.end
    start[~kept], end[~kept] = offsets[:-1], offsets[1:]
    _write_lines(version_dir, Lines(part, start, end))
    if columns is not None:
        write_columns(version_dir, columns)
    return [TEXT_FILE, LINES_FILE, COLUMNS_FILE, DELTA_TEXT_FILE]


def _write_lines(version_dir: Path, lines: Lines) -> None:
    np.save(version_dir / LINES_FILE, np.stack([lines.part.astype(np.int64), lines.start, lines.end]))


def write_columns(version_dir: Path, columns: dict[str, list]) -> None:
    """Write the COLUMNS_FILE of these columns."""
    (version_dir / COLUMNS_FILE).write_text(json.dumps({name: columns[name] for name in COLUMNS},
                                                       ensure_ascii=False), encoding="utf-8")


def read(version_dir: Path) -> tuple[Lines, dict[str, list]]:
    """(where each record is, columns) of a version."""
    legacy = None if (version_dir / LINES_FILE).is_file() else _legacy_table(version_dir)
    if legacy is not None:   # one 20 MB file at 100 000 articles: parsed once for both
        return read_lines(version_dir, legacy), legacy["columns"]
    return read_lines(version_dir), read_columns(version_dir)


def read_lines(version_dir: Path, legacy: dict | None = None) -> Lines:
    """Where each article's record is (older versions: from their table, or from articles.jsonl itself).

    `legacy`: the version's article_table.json, when the caller has already parsed it.
    """
    path = version_dir / LINES_FILE
    if path.is_file():
        part, start, end = np.load(path)
        return Lines(part.astype(np.uint8), start, end)
    legacy = legacy if legacy is not None else _legacy_table(version_dir)
    if legacy is None:
        with open(version_dir / TEXT_FILE, "rb") as handle:
            return Lines.whole(line_offsets(handle.readlines()))
    if "offsets" in legacy:
        return Lines.whole(np.array(legacy["offsets"], dtype=np.int64))
    return Lines(np.array(legacy["parts"], dtype=np.uint8), np.array(legacy["starts"], dtype=np.int64),
                 np.array(legacy["ends"], dtype=np.int64))


def read_columns(version_dir: Path) -> dict[str, list]:
    """Every article's columns (versions written before the table existed: from every record, parsed once)."""
    path = version_dir / COLUMNS_FILE
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    legacy = _legacy_table(version_dir)
    if legacy is not None:
        return legacy["columns"]
    lines = read_lines(version_dir).read_all(version_dir)
    return columns_of([Article.from_dict(json.loads(line)) for line in lines])


def _legacy_table(version_dir: Path) -> dict | None:
    path = version_dir / LEGACY_TABLE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
