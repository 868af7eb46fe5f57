"""The articles of one index version, read lazily: columns in memory, a record parsed when it is shown.

A search touches a handful of articles (its hits); filters, menus and lists of
articles read columns (indexer/article_table.py). So a serving process keeps
the columns of every article and parses an article's record only when asked,
keeping the most recently used ones.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from indexer import article_table
from indexer.keyword_index import group_key
from kb.markdown import plain_text
from kb.schema import Article

PARSED_KEPT = 4096   # articles kept parsed (a result page shows ten; a busy hour a few thousand distinct)

# The columns last read, by the identity of their file: a build whose edits leave every column as
# it was links the previous version's file (indexer/delta.py), so the switch to it parses nothing
# (0.5 s at 100 000 articles). Never changed once made; shared by the versions that have that file.
_last_read: tuple[tuple, tuple] | None = None


def _file_identity(path: Path) -> tuple | None:
    """Device, inode, size and modification time (not ctime: linking a file changes it)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def column_arrays(columns: dict[str, list]) -> dict[str, np.ndarray]:
    """A version's article columns as searches use them: "group" with "" for none, plus "group_key".

    Object arrays: searches compare a column with one value (office, language, ...); the keyword
    matrix filters by the group's key as the keyword index files it.
    """
    arrays = {name: np.array(values, dtype=object) for name, values in columns.items() if name != "group"}
    arrays["group"] = np.array([value or "" for value in columns["group"]], dtype=object)
    arrays["group_key"] = np.array([group_key(group) for group in arrays["group"].tolist()], dtype=object)
    return arrays


def _derived(columns: dict[str, list]) -> tuple[list[str], dict[str, int], dict[str, np.ndarray]]:
    """(ids, id → row, column arrays) of a version's columns."""
    ids = columns["id"]
    return ids, {article_id: i for i, article_id in enumerate(ids)}, column_arrays(columns)


def _read(version_dir: Path) -> tuple:
    """(where each record is, ids, id → row, column arrays) of a version, the columns reused when linked."""
    global _last_read
    identity = _file_identity(version_dir / article_table.COLUMNS_FILE)
    if identity is None or not (version_dir / article_table.LINES_FILE).is_file():   # older layouts
        lines, columns = article_table.read(version_dir)
        return (lines, *_derived(columns))
    kept = _last_read
    if kept is None or kept[0] != identity:
        kept = _last_read = (identity, _derived(article_table.read_columns(version_dir)))
    return (article_table.read_lines(version_dir), *kept[1])


class ArticleStore(Mapping):
    """Article id → Article of one version, in articles.jsonl order; columns for every article."""

    def __init__(self, version_dir: Path):
        self.dir = version_dir
        self.lines, self.ids, self.row, columns = _read(version_dir)
        self.columns = dict(columns)   # "group" has "" for none; "group_key" as the keyword index files it
        self._parsed = lru_cache(maxsize=PARSED_KEPT)(self._parse)

    def __getitem__(self, article_id: str) -> Article:
        return self._parsed(self.row[article_id])[0]

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.row

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def _parse(self, row: int) -> tuple[Article, str]:
        """The article of one record and the plain text of its public answer (one read, one parse)."""
        data = json.loads(self.lines.read(self.dir, row))
        article = Article.from_dict(data)
        # Records of versions before record-3 have no "plain": render it as the build would have.
        return article, data["plain"] if "plain" in data else plain_text(article.public_body)

    def plain(self, article_id: str) -> str:
        """The article's public answer as plain text (for snippets): the build's, kept for the last few thousand."""
        return self._parsed(self.row[article_id])[1]

    def at(self, rows) -> list[Article]:
        """The articles at these rows, in that order."""
        return [self._parsed(int(row))[0] for row in rows]

    def visible_rows(self, audience: str, today: dt.date) -> np.ndarray:
        """Rows of the articles this audience may see today (handlers: all; residents: public, not expired)."""
        if audience == "internal":
            return np.arange(len(self.ids))
        until = self.columns["valid_until"]
        dated = until != None   # noqa: E711 (elementwise over an object array, not an identity test)
        expired = np.zeros(len(self.ids), dtype=bool)
        expired[dated] = until[dated] < today.isoformat()   # ISO dates compare as strings
        return np.flatnonzero((self.columns["audience"] == "public") & ~expired)

    def rows_where(self, **equal: str | None) -> np.ndarray:
        """Rows whose columns equal the given values (a None value does not filter)."""
        ok = np.ones(len(self.ids), dtype=bool)
        for name, value in equal.items():
            if value is not None:
                ok &= self.columns[name] == value
        return np.flatnonzero(ok)

    @cached_property
    def groups(self) -> list[str]:
        """Every answer group in the version, sorted (for filter menus)."""
        return sorted({group for group in self.columns["group"].tolist() if group}, key=str.lower)

    @cached_property
    def languages(self) -> list[str]:
        """Every language in the version, sorted."""
        return sorted(set(self.columns["language"].tolist()))

    @cached_property
    def translations(self) -> dict[str, list[str]]:
        """Original article id → ids of its translations."""
        found: dict[str, list[str]] = {}
        for article_id, original in zip(self.ids, self.columns["translation_of"].tolist()):
            if original:
                found.setdefault(original, []).append(article_id)
        return found
