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
from kb.schema import Article

PARSED_KEPT = 4096   # articles kept parsed (a result page shows ten; a busy hour a few thousand distinct)


class ArticleStore(Mapping):
    """Article id → Article of one version, in articles.jsonl order; columns for every article."""

    def __init__(self, version_dir: Path):
        self.dir = version_dir
        self.lines, columns = article_table.read(version_dir)
        self.ids: list[str] = columns["id"]
        self.row = {article_id: i for i, article_id in enumerate(self.ids)}
        # Object arrays: searches compare a whole column with one value (office, language, ...).
        self.columns = {name: np.array(values, dtype=object) for name, values in columns.items()}
        self.columns["group"] = np.array([value or "" for value in columns["group"]], dtype=object)
        self._parsed = lru_cache(maxsize=PARSED_KEPT)(self._parse)

    def __getitem__(self, article_id: str) -> Article:
        return self._parsed(self.row[article_id])

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.row

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def _parse(self, row: int) -> Article:
        return Article.from_dict(json.loads(self.lines.read(self.dir, row)))

    def at(self, rows) -> list[Article]:
        """The articles at these rows, in that order."""
        return [self._parsed(int(row)) for row in rows]

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
