"""Keyword backend "whoosh": the query plan run through Whoosh's own query engine (the reference)."""
from __future__ import annotations

import threading
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.query import And, Or, Phrase, Term
from whoosh.scoring import BM25F

from indexer.keyword_index import FIELD_BOOSTS
from search import keyword
from search.keyword import KeywordQuery, KeywordSearcher


class WhooshKeywordSearcher(KeywordSearcher):
    """Searches one Whoosh index folder; one reader per thread, opened once."""

    name = "whoosh"

    def __init__(self, folder: Path, synonyms: list[list[str]] | None = None):
        super().__init__(synonyms)
        self.ix = whoosh_index.open_dir(str(folder))
        self._local = threading.local()

    def _searcher(self):
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._local.searcher = self.ix.searcher(
                weighting=BM25F(B=keyword.BM25_B, K1=keyword.BM25_K1))
        return searcher

    def close(self) -> None:
        """Close this thread's reader."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()

    def doc_frequency(self, field_name: str, term: str) -> int:
        """How many articles have this analysed term in this field."""
        return self._searcher().doc_frequency(field_name, term)

    def lexicon(self, field_name: str):
        """Every analysed term of a field."""
        with self.ix.reader() as reader:
            return list(reader.lexicon(field_name))

    def execute(self, query: KeywordQuery, k: int) -> list[tuple[str, float]]:
        """Top-k (article id, score) from one Whoosh Or query with the filters as a Whoosh filter."""
        clauses = [Term(f, t, boost=FIELD_BOOSTS[f] * w) for t, w in query.weighted.items() for f in query.fields]
        clauses += [Phrase(f, [first, second], slop=keyword.PHRASE_SLOP, boost=keyword.PHRASE_BOOST)
                    for first, second in query.phrases for f in keyword.PHRASE_FIELDS]
        filters = [Term(name, value) for name, value in query.filters.items()]
        results = self._searcher().search(Or(clauses), limit=k, filter=And(filters) if filters else None)
        return [(hit["id"], float(hit.score)) for hit in results]
