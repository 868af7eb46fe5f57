"""The article table of an index version: per article the columns searches filter on, and where its record is.

`articles.jsonl` holds every article's record (one JSON object a line);
`article_table.json` holds, per article in the same order, the byte offset of
its line and the few fields that filters, lists and menus need for every
article (id, office, answer group, language, audience, ...). A serving
process reads the table at start and an article's record only when it shows
it: at 100 000 articles, parsing every record took 7 s of start-up and
560 MiB of memory.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from indexer.rows import line_offsets
from kb.schema import Article

TEXT_FILE = "articles.jsonl"
TABLE_FILE = "article_table.json"
# The fields every article has a column for (what a search filter or a list of articles reads).
COLUMNS = ("id", "office", "group", "language", "audience", "translation_of", "valid_until", "title")


def columns_of(articles: list[Article]) -> dict[str, list]:
    """The table's columns of these articles (dates as ISO strings, missing values as None)."""
    columns: dict[str, list] = {name: [getattr(article, name) for article in articles] for name in COLUMNS}
    columns["valid_until"] = [day.isoformat() if day is not None else None for day in columns["valid_until"]]
    return columns


def write(version_dir: Path, lines: list[bytes], columns: dict[str, list]) -> list[str]:
    """Write articles.jsonl (these lines) and its table; returns the file names (for the manifest)."""
    offsets = line_offsets(lines)
    with open(version_dir / TEXT_FILE, "wb") as out:
        out.writelines(lines)
    table = {"offsets": offsets.tolist(), "columns": {name: columns[name] for name in COLUMNS}}
    (version_dir / TABLE_FILE).write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    return [TEXT_FILE, TABLE_FILE]


def read(version_dir: Path) -> tuple[np.ndarray, dict[str, list]]:
    """(line offsets plus the file's length, columns) of a version.

    Versions written before the table existed get it computed from articles.jsonl (every record parsed once).
    """
    path = version_dir / TABLE_FILE
    if path.exists():
        table = json.loads(path.read_text(encoding="utf-8"))
        return np.array(table["offsets"], dtype=np.int64), table["columns"]
    with open(version_dir / TEXT_FILE, "rb") as handle:
        lines = handle.readlines()
    offsets = line_offsets(lines)
    return offsets, columns_of([Article.from_dict(json.loads(line)) for line in lines])
