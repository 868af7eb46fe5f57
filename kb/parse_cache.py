"""Remember parsed article files between builds, so an edit re-parses one file, not all of them.

Parsing (YAML with line numbers, Markdown splitting) is most of a load: 10 000
articles take about 10 s, while an unchanged file is recognised by its size and
modification time. The cache lives in the data folder, is written only by the
build that holds the build lock, and is thrown away when it was made by another
loader version. Parse results do not depend on the date (the loader adds the
overdue-review warnings after the cache), so the first build of a day reuses it.
"""
from __future__ import annotations

import gc
import os
import pickle
from pathlib import Path

# Bump when parse_article's output changes shape or meaning.
LOADER_VERSION = 3
# Re-parsing a changed file costs about 1 ms, rewriting the whole cache 0.3 s at 10 000 articles:
# a build that re-parsed fewer files than this (or than 1 % of the cache) leaves the file as it is.
SAVE_AFTER_MISSES = 50


def cache_file(data_dir: str | Path) -> Path:
    """Where builds in this data folder keep their parse cache."""
    return Path(data_dir) / "cache" / "parsed.pickle"


def shallow_copy(item):
    """A shallow copy of a parse result (Article, Office, Issue), at a tenth of copy.copy's cost."""
    duplicate = object.__new__(type(item))
    duplicate.__dict__.update(item.__dict__)
    return duplicate


class ParseCache:
    """rel path → (file stamp, parse result): (Article, warnings, line), an Office, or the Issue that stopped it."""

    def __init__(self, entries: dict | None = None, grouped: dict | None = None):
        self.entries: dict[str, tuple] = entries or {}
        self.hits = self.misses = 0
        # rel path → the office's answer group that the cached article carries (absent: the article's
        # group is its own, or none yet). The article itself carries it, not a copy beside it: a fresh
        # `kb index` then unpickles one object per article (100 000 copies beside the originals were
        # 0.3-0.5 s of loading the cache, and copying them anew 1.2 s).
        self.grouped: dict[str, str] = grouped or {}
        # Set by `kb index --watch` for one build: the paths it was told changed (files or folders).
        self.changed: set[str] | None = None
        # The last corpus loaded with this cache (in memory only): patched when `changed` allows (kb/loader.py).
        self.corpus = None

    def stamp_of(self, rel: str, path: str) -> tuple[int, int, int] | None:
        """The file's stamp; during a watcher's build, the cached one of a file it was not told changed.

        Asking the file system for 100 000 stamps took 0.9 s of a one-edit build; the watcher hears
        of every change and has every file stamped again at least every few minutes (indexer/watch.py).
        """
        if self.changed is not None:
            entry = self.entries.get(rel)
            if entry is not None and rel not in self.changed and not any(
                    rel.startswith(folder + "/") for folder in self.changed):
                return entry[0]
        return self.stamp(path)

    def with_office_group(self, rel: str, article, group: str):
        """The article of file `rel` with its office's answer `group`, unless it has a group of its own.

        A cached article handed out before is never changed (an older corpus, or the watcher's digest
        memo, may hold it): when its office's group changed, the cache takes a copy with the new one.
        An article without a group that no load has handed out yet gets it in place.
        """
        entry = self.entries.get(rel)
        if entry is None or not isinstance(entry[1], tuple) or entry[1][0] is not article:
            if not article.group:   # not cached (a file without a stamp): the caller's own object
                article.group = group
            return article
        if self._has_group(rel, article, group):
            return article
        if rel in self.grouped:   # handed out with the office's former group
            article = shallow_copy(article)
            article.group = group
            self.entries[rel] = (entry[0], (article, *entry[1][1:]))
        else:
            article.group = group
        self.grouped[rel] = group
        return article

    def unchanged_article(self, rel: str, path: str, group: str):
        """The cached article of file `rel` when its file is unchanged and it needs nothing more: no
        warnings, no review date (whose warning depends on the day), and no other office group than
        `group`. Else None, and the loader takes its whole way (`get`, `with_office_group`).

        Most files of a large content folder are such: at 100 000 articles, taking the whole way for
        each made a one-edit `kb index` 4.1-5.5 s instead of 3.8-4.2 s.
        """
        entry = self.entries.get(rel)
        if entry is None or type(entry[1]) is not tuple:
            return None
        article, warnings, _line = entry[1]
        if warnings or article.reviewed is not None or entry[0] != self.stamp_of(rel, path):
            return None
        if not self._has_group(rel, article, group):
            return None
        self.hits += 1
        return article

    def _has_group(self, rel: str, article, group: str) -> bool:
        """Does the cached article of `rel` carry the group it should: its own, or this office `group`?"""
        applied = self.grouped.get(rel)
        return applied == group if applied is not None else bool(article.group)

    @staticmethod
    def stamp(path: str | Path) -> tuple[int, int, int] | None:
        """Size, modification time and inode: what changes when a file is edited or replaced."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns, st.st_ino

    def get(self, rel: str, stamp) -> object | None:
        """The cached result for this file if it has not changed.

        The article is the cached object itself, shared: whoever edits it copies it first (the loader
        does, kb/loader.py). Copying every one on every load cost 1.9 s at 100 000 articles.
        """
        entry = self.entries.get(rel)
        if stamp is None or entry is None or entry[0] != stamp:
            self.misses += 1
            return None
        self.hits += 1
        result = entry[1]
        # An article's entry is returned as it is: its warnings are a tuple, which nobody can change.
        return result if isinstance(result, tuple) else shallow_copy(result)

    def put(self, rel: str, stamp, result):
        """Remember a fresh parse result; returns what the loader goes on with, as `get` would have.

        An article is then the cached object itself, as after a hit (an Office or Issue is remembered
        as a copy, and the original returned).
        """
        if stamp is None:
            return result
        self.grouped.pop(rel, None)   # a fresh parse carries no office group yet
        if isinstance(result, tuple):
            # Warnings as a tuple: most files have none, and one empty tuple unpickles as one object.
            result = (result[0], tuple(result[1]), result[2])
            self.entries[rel] = (stamp, result)
            return result
        self.entries[rel] = (stamp, shallow_copy(result))
        return result

    def keep_only(self, seen: set[str]) -> None:
        """Forget files that are gone."""
        for rel in set(self.entries) - seen:
            del self.entries[rel]
        for rel in set(self.grouped) - seen:
            del self.grouped[rel]

    def worth_saving(self) -> bool:
        """True when this load re-parsed enough files that the next one should not have to."""
        return self.misses >= min(SAVE_AFTER_MISSES, max(1, len(self.entries) // 100))

    @classmethod
    def load(cls, path: Path) -> "ParseCache":
        """Read a cache file; an unreadable or foreign one gives an empty cache."""
        # Unpickling 100 000 articles makes a million objects, none of them garbage: with the cyclic
        # collector on, its passes over them took 1.6 s of a 3.5 s load.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with open(path, "rb") as handle:
                data = pickle.load(handle)
            if data.get("version") == LOADER_VERSION:
                # The cache lives as long as the process: exempt it from later collector passes too
                # (each walked all of it; at 100 000 articles they cost 1-2 s of the build that follows).
                gc.freeze()
                return cls(data["entries"], data.get("grouped"))
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, KeyError, TypeError, ValueError):
            pass
        finally:
            if collecting:
                gc.enable()
        return cls()

    def save(self, path: Path) -> None:
        """Write the cache atomically (a half-written cache must never be read)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            pickle.dump({"version": LOADER_VERSION, "entries": self.entries, "grouped": self.grouped}, handle,
                        protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
