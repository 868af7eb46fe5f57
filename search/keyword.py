"""Keyword retrieval: Swedish analysis, synonyms, field boosts, typo fallback; BM25F scoring by a backend."""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from indexer.article_table import COLUMNS as ARTICLE_COLUMNS
from indexer.analysis import STOP_WORDS, analyze_word, stem
from indexer.keyword_index import ALL_FIELDS, FIELD_BOOSTS, PUBLIC_FIELDS, group_key

SYNONYM_BOOST = 0.4   # a synonym is evidence, but weaker than the word typed (0.3-0.7 measured within 0.005 MRR)
FUZZY_BOOST = 0.5
FUZZY_FIELDS = ("title", "alt", "tags", "body")
FUZZY_MIN_LENGTH = 5  # shorter words have too many neighbours one edit away
PHRASE_BOOST = 0.5
PHRASE_FIELDS = ("body",)
PHRASE_SLOP = 3       # the second word at most this many positions after the first
BM25_K1 = 1.2
BM25_B = 0.75


@dataclass
class KeywordResult:
    """Ranked (article id, BM25F score) pairs and how much of the query the index knows."""

    hits: list[tuple[str, float]]
    coverage: float                  # share of the query's words found in the index at all
    terms: set[str] = field(default_factory=set)   # analysed terms searched (for highlighting)
    fuzzy: bool = False


def _deletions(term: str) -> set[str]:
    return {term[:i] + term[i + 1:] for i in range(len(term))}


def _synonym_term(word: str) -> str:
    """The index term a synonym stands for: its stem, ignoring one-letter prefixes ("p-lapp" -> "lapp")."""
    parts = [w for w in re.findall(r"\w+", word.lower()) if len(w) > 1]
    terms = analyze_word(parts[-1]) if parts else ()
    return terms[0] if terms else ""


def query_words(text: str) -> list[str]:
    """Lower-case words of a query without stop words."""
    return [w for w in re.findall(r"\w+", text.lower()) if w not in STOP_WORDS]


@dataclass
class KeywordQuery:
    """What a query asks of the keyword index: weighted terms per field, phrase pairs and filters."""

    weighted: dict[str, float]
    phrases: list[tuple[str, str]]
    fields: tuple[str, ...]
    filters: dict[str, str]            # field → value (audience, office, group, language)


class KeywordSearcher(ABC):
    """Plans a query (Swedish analysis, synonyms, typo fallback) and lets a backend score it with BM25F.

    Backends (one module each, picked by name in `open_keyword`): "whoosh" runs the plan
    through Whoosh's query engine, "matrix" computes the same scores with numpy.
    """

    name = ""

    def __init__(self, synonyms: list[list[str]] | None = None):
        self.synonyms: dict[str, set[str]] = {}
        for group in synonyms or []:
            stems = {_synonym_term(word) for word in group} - {""}
            for s in stems:
                self.synonyms.setdefault(s, set()).update(stems - {s})

    @abstractmethod
    def doc_frequency(self, field_name: str, term: str) -> int:
        """How many articles have this analysed term in this field."""

    @abstractmethod
    def lexicon(self, field_name: str):
        """Every analysed term of a field."""

    @abstractmethod
    def execute(self, query: KeywordQuery, k: int) -> list[tuple[str, float]]:
        """Top-k (article id, score): sum over clauses of boost × BM25F, ties in index order."""

    def close(self) -> None:
        """Release what the backend holds open for this thread."""

    def _fuzzy_index(self) -> dict[str, set[str]]:
        """Map every one-letter deletion of each indexed term to the terms (SymSpell), built on first use.

        Whoosh's FuzzyTerm walks the whole term list per query word (close to a
        second here); a deletion map answers "terms within one edit" in microseconds.
        """
        index = getattr(self, "_deletes", None)
        if index is None:
            self.adopt_fuzzy(None)
            index = self._deletes
        return index

    def _fuzzy_vocabulary(self) -> set[str]:
        """The terms typos are matched against: alphabetic ones of the fuzzy fields, not too short."""
        found: set[str] = set()
        for field_name in FUZZY_FIELDS:
            for raw in self.lexicon(field_name):
                term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                if len(term) >= FUZZY_MIN_LENGTH - 1 and term.isalpha():
                    found.add(term)
        return found

    def adopt_fuzzy(self, previous: KeywordSearcher | None) -> None:
        """Build the typo map now, from `previous` (the version served so far) where it has one.

        An edit changes a few terms of the vocabulary: the previous map is copied and only those
        terms' entries are replaced (0.3 s → 0.01 s at 100 000 articles). The previous map is not
        changed (it is still answering queries); the result equals a map built from scratch.
        """
        vocabulary = self._fuzzy_vocabulary()
        kept = getattr(previous, "_deletes", None)
        if kept is None:
            index: dict[str, set[str]] = {}
            for term in vocabulary:
                for variant in _deletions(term) | {term}:
                    index.setdefault(variant, set()).add(term)
        else:
            index, before = dict(kept), previous._fuzzy_vocabulary_kept
            for term in before - vocabulary:
                for variant in _deletions(term) | {term}:
                    rest = index[variant] - {term}   # a new set: the previous map's stays as it is
                    if rest:
                        index[variant] = rest
                    else:
                        del index[variant]
            for term in vocabulary - before:
                for variant in _deletions(term) | {term}:
                    index[variant] = index.get(variant, set()) | {term}
        self._fuzzy_vocabulary_kept, self._deletes = vocabulary, index

    def fuzzy_terms(self, term: str) -> set[str]:
        """Indexed terms within about one edit (insert, delete, substitute, swap) of `term`."""
        index = self._fuzzy_index()
        found: set[str] = set()
        for variant in _deletions(term) | {term}:
            found |= index.get(variant, set())
        found.discard(term)
        return found

    def _known(self, term: str, fields) -> bool:
        return any(self.doc_frequency(f, term) > 0 for f in fields)

    def search(self, text: str, k: int = 10, *, office: str | None = None, group: str | None = None,
               language: str | None = None, include_internal: bool = False, fuzzy: bool = True) -> KeywordResult:
        """Rank articles for a free-text query with BM25F."""
        fields = ALL_FIELDS if include_internal else PUBLIC_FIELDS
        words = query_words(text)
        weighted: dict[str, float] = {}
        known_words = 0
        unknown: list[str] = []
        analysed = [(word, analyze_word(word)) for word in words]  # once per word, cached across queries
        for word, terms in analysed:
            if not terms:
                continue
            if any(self._known(t, fields) for t in terms):
                known_words += 1
            else:
                unknown.append(word)
            for t in terms:
                weighted[t] = max(weighted.get(t, 0.0), 1.0)
                for syn in self.synonyms.get(t, ()):
                    weighted.setdefault(syn, SYNONYM_BOOST)
        coverage = known_words / len(words) if words else 0.0
        if not weighted:
            return KeywordResult([], coverage)
        # Adjacent query words that also stand together in the text are stronger evidence.
        stems = [terms[0] for _, terms in analysed if terms]
        phrases = list(zip(stems, stems[1:])) if PHRASE_BOOST else []
        used_fuzzy = False
        if fuzzy and unknown:
            for word in unknown:
                if len(word) < FUZZY_MIN_LENGTH:
                    continue
                for near in self.fuzzy_terms(stem(word)):
                    if near not in weighted:
                        weighted[near] = FUZZY_BOOST
                        used_fuzzy = True
        filters = {} if include_internal else {"audience": "public"}
        filters.update({name: value for name, value in (("office", office), ("group", group and group_key(group)),
                                                          ("language", language)) if value})
        hits = self.execute(KeywordQuery(weighted, phrases, fields, filters), k)
        return KeywordResult(hits, coverage, set(weighted), used_fuzzy)


KEYWORD_BACKENDS = ("matrix", "whoosh")
DEFAULT_KEYWORD_BACKEND = "matrix"


def open_keyword(backend: str, version_dir: Path, synonyms: list[list[str]] | None = None,
                 columns: Mapping[str, Sequence] | None = None) -> KeywordSearcher:
    """The keyword searcher named `backend` over one index version (`columns`: its article table's)."""
    if backend == "whoosh":
        from search.keyword_whoosh import WhooshKeywordSearcher

        return WhooshKeywordSearcher(version_dir / "keyword", synonyms)
    if backend == "matrix":
        from search.articles import column_arrays
        from search.keyword_matrix import MatrixKeywordSearcher

        return MatrixKeywordSearcher(version_dir, synonyms,
                                     columns or column_arrays({name: [] for name in ARTICLE_COLUMNS}))
    raise ValueError(f"unknown keyword backend {backend!r}: use one of {', '.join(KEYWORD_BACKENDS)}")
