"""Query-time retrieval: keyword (Whoosh), vector (FAISS) and their fusion behind `Searcher`."""
from search.searcher import Hit, Searcher, SearchResult  # noqa: F401
