"""Keyword retrieval over the Whoosh index: Swedish analysis, synonyms, field boosts, typo fallback."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.scoring import BM25F
from whoosh.query import And, Or, Phrase, Term

from indexer.analysis import STOP_WORDS, analyze_word, stem
from indexer.keyword_index import ALL_FIELDS, FIELD_BOOSTS, PUBLIC_FIELDS, group_key

SYNONYM_BOOST = 0.4   # a synonym is evidence, but weaker than the word typed (0.3-0.7 measured within 0.005 MRR)
FUZZY_BOOST = 0.5
FUZZY_FIELDS = ("title", "alt", "tags", "body")
FUZZY_MIN_LENGTH = 5  # shorter words have too many neighbours one edit away
PHRASE_BOOST = 0.5
PHRASE_FIELDS = ("body",)
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


class KeywordSearcher:
    """Searches one Whoosh index folder; one reader per thread, opened once."""

    def __init__(self, folder: Path, synonyms: list[list[str]] | None = None):
        self.ix = whoosh_index.open_dir(str(folder))
        self._local = threading.local()
        self.synonyms: dict[str, set[str]] = {}
        for group in synonyms or []:
            stems = {_synonym_term(word) for word in group} - {""}
            for s in stems:
                self.synonyms.setdefault(s, set()).update(stems - {s})

    def _fuzzy_index(self) -> dict[str, set[str]]:
        """Map every one-letter deletion of each indexed term to the terms (SymSpell), built on first use.

        Whoosh's FuzzyTerm walks the whole term list per query word (close to a
        second here); a deletion map answers "terms within one edit" in microseconds.
        """
        index = getattr(self, "_deletes", None)
        if index is None:
            index = {}
            with self.ix.reader() as reader:
                for field_name in FUZZY_FIELDS:
                    for raw in reader.lexicon(field_name):
                        term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                        if len(term) < FUZZY_MIN_LENGTH - 1 or not term.isalpha():
                            continue
                        for variant in _deletions(term) | {term}:
                            index.setdefault(variant, set()).add(term)
            self._deletes = index
        return index

    def fuzzy_terms(self, term: str) -> set[str]:
        """Indexed terms within about one edit (insert, delete, substitute, swap) of `term`."""
        index = self._fuzzy_index()
        found: set[str] = set()
        for variant in _deletions(term) | {term}:
            found |= index.get(variant, set())
        found.discard(term)
        return found

    def _searcher(self):
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._local.searcher = self.ix.searcher(weighting=BM25F(B=BM25_B, K1=BM25_K1))
        return searcher

    def close(self) -> None:
        """Close this thread's reader."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()

    def _known(self, searcher, term: str, fields) -> bool:
        return any(searcher.doc_frequency(f, term) > 0 for f in fields)

    def search(self, text: str, k: int = 10, *, office: str | None = None, group: str | None = None,
               language: str | None = None, include_internal: bool = False, fuzzy: bool = True) -> KeywordResult:
        """Rank articles for a free-text query with BM25F."""
        searcher = self._searcher()
        fields = ALL_FIELDS if include_internal else PUBLIC_FIELDS
        words = query_words(text)
        weighted: dict[str, float] = {}
        known_words = 0
        unknown: list[str] = []
        analysed = [(word, analyze_word(word)) for word in words]  # once per word, cached across queries
        for word, terms in analysed:
            if not terms:
                continue
            if any(self._known(searcher, t, fields) for t in terms):
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
        clauses = [Term(f, t, boost=FIELD_BOOSTS[f] * w) for t, w in weighted.items() for f in fields]
        if PHRASE_BOOST:
            # Adjacent query words that also stand together in the text are stronger evidence.
            stems = [terms[0] for _, terms in analysed if terms]
            for first, second in zip(stems, stems[1:]):
                clauses += [Phrase(f, [first, second], slop=3, boost=PHRASE_BOOST) for f in PHRASE_FIELDS]
        used_fuzzy = False
        if fuzzy and unknown:
            for word in unknown:
                if len(word) < FUZZY_MIN_LENGTH:
                    continue
                for near in self.fuzzy_terms(stem(word)):
                    if near not in weighted:
                        weighted[near] = FUZZY_BOOST
                        clauses += [Term(f, near, boost=FIELD_BOOSTS[f] * FUZZY_BOOST) for f in fields]
                        used_fuzzy = True
        filters = [Term("audience", "public")] if not include_internal else []
        if office:
            filters.append(Term("office", office))
        if group:
            filters.append(Term("group", group_key(group)))
        if language:
            filters.append(Term("language", language))
        query_filter = And(filters) if filters else None
        results = searcher.search(Or(clauses), limit=k, filter=query_filter)
        hits = [(hit["id"], float(hit.score)) for hit in results]
        return KeywordResult(hits, coverage, set(weighted), used_fuzzy)
