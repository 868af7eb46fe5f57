"""`Searcher`: the one object the web app and the CLI ask questions through.

It serves the index version CURRENT points at, loads it once, and swaps to a
newer version when one is published (checked at most once a second), without
a restart. It refuses an index built with another embedding model.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from indexer import versions
from kb.embedding.base import Encoder
from kb.markdown import plain_text
from kb.schema import Article
from search.articles import ArticleStore
from search.fusion import SPARSE_WEIGHT, add_sparse, fuse
from search.keyword import DEFAULT_KEYWORD_BACKEND, open_keyword
from search.snippets import make_snippet
from search.sparse import SparseScorer
from search.vector import VectorSearcher

CANDIDATES = 50         # how deep each signal is read before fusion
# Cosine of the best chunk below which e5 answers are unrelated, and above which
# they are clearly right, measured on tests/eval (answerable vs unanswerable
# queries, docs/benchmarks.md): 95 % of right top answers score >= 0.886,
# 97 % of unanswerable queries' top hits score below it.
UNRELATED_COSINE = 0.85
CONFIDENT_COSINE = 0.93
LOW_CONFIDENCE = 0.45   # = cosine 0.886
METHODS = ("hybrid", "keyword", "vector")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class IndexModelMismatch(RuntimeError):
    """The index was built with another embedding model than the one configured."""


@dataclass
class Hit:
    """One article in a result list."""

    id: str
    title: str
    office: str
    group: str
    language: str
    audience: str
    score: float
    confidence: float
    matched: list[str]
    snippet: str
    signals: dict = field(default_factory=dict)
    translations: list[dict] = field(default_factory=list)
    translation_of: str | None = None

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return dict(self.__dict__)


@dataclass
class SearchResult:
    """Hits for one query, with an overall confidence a UI can turn into "no good answer here"."""

    query: str
    hits: list[Hit]
    confidence: float
    method: str
    took_ms: float
    version: str
    keyword_coverage: float = 0.0

    @property
    def low_confidence(self) -> bool:
        """True when the best hit is probably not an answer."""
        return not self.hits or self.confidence < LOW_CONFIDENCE

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {"query": self.query, "confidence": round(self.confidence, 3), "low_confidence": self.low_confidence,
                "method": self.method, "took_ms": round(self.took_ms, 2), "version": self.version,
                "hits": [h.to_dict() for h in self.hits]}


class Snapshot:
    """Everything of one index version needed to answer queries, loaded once."""

    def plain_answer(self, article: Article) -> str:
        """The public answer as plain text: the build's for this version's article (snippets need it on
        every search, handlers' copy text on every hit), rendered for any other (a version switched since)."""
        if self.articles.get(article.id) is article:
            return self.articles.plain(article.id)
        return plain_text(article.public_body)

    def translations_of(self, article_id: str) -> list[Article]:
        """The translations of an article (not filtered by audience)."""
        return [self.articles[other] for other in self.articles.translations.get(article_id, [])]

    def __init__(self, version_dir: Path, keyword_backend: str = DEFAULT_KEYWORD_BACKEND):
        self.dir = version_dir
        self.version = version_dir.name
        self.manifest = versions.read_manifest(version_dir) or {}
        # Columns of every article; an article's record is parsed when a result or a page shows it.
        self.articles = ArticleStore(version_dir)
        columns = self.articles.columns
        extras = json.loads((version_dir / "content.json").read_text(encoding="utf-8"))
        self.offices: dict[str, dict] = extras["offices"]
        self.notices: list[dict] = extras["notices"]
        # Versions from before the keyword matrix existed are searched with Whoosh's own engine.
        if keyword_backend == "matrix" and "keyword_matrix.npz" not in self.manifest.get("files", []):
            keyword_backend = "whoosh"
        self.keyword = open_keyword(keyword_backend, version_dir, extras["synonyms"], columns)
        model = self.manifest["model"]
        self.vector = VectorSearcher(version_dir, self.manifest.get("vector_backend", "flat"), model["dimension"],
                                     columns)
        # Versions built with a model without a sparse head (or before it existed) fuse two signals.
        self.sparse = SparseScorer(version_dir, self.vector.article_ids, self.vector.chunk_article,
                                   self.vector.chunk_internal) if self.manifest.get("sparse") else None


def clean_query(text: str, max_length: int = 500) -> str:
    """Drop control characters and surplus whitespace, cut to max_length."""
    text = _CONTROL.sub(" ", text or "")
    return re.sub(r"\s+", " ", text).strip()[:max_length]


class Searcher:
    """Hybrid search over the current index version of a data directory."""

    def __init__(self, data_dir: str | Path, encoder: Encoder, *, fuzzy: bool = True, max_query_length: int = 500,
                 today: dt.date | None = None, fusion: str = "weighted", fusion_params: dict | None = None,
                 sparse_weight: float = SPARSE_WEIGHT, keyword_backend: str = DEFAULT_KEYWORD_BACKEND):
        self.data_dir = Path(data_dir)
        self.keyword_backend = keyword_backend
        self.encoder = encoder
        self.fuzzy = fuzzy
        self.max_query_length = max_query_length
        self.fixed_today = today
        self.fusion = fusion
        self.fusion_params = fusion_params or {}
        self.sparse_weight = sparse_weight
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._lock = threading.Lock()
        self._marker = None
        self._checked = 0.0
        self.snapshot = self._load()
        self.warm_up()

    def warm_up(self) -> None:
        """Load the lazy parts (word list, typo map, model kernels) now, not on a user's first query."""
        self.search("parkeringstillstånd förskoleplats hemtjänst", k=1)
        self.snapshot.keyword.fuzzy_terms("parkering")

    def today(self) -> dt.date:
        """Today in the service's time zone (or the configured fixed date)."""
        return self.fixed_today or dt.date.today()

    def _load(self) -> Snapshot:
        marker = versions.current_marker(self.data_dir)
        snapshot = Snapshot(versions.current_version(self.data_dir), self.keyword_backend)
        model = snapshot.manifest.get("model", {})
        if model.get("fingerprint") != self.encoder.fingerprint():
            raise IndexModelMismatch(
                f"index {snapshot.version} was built with model {model.get('name')!r} "
                f"({model.get('fingerprint')}), but the configured model is {self.encoder.name!r} "
                f"({self.encoder.fingerprint()}): run `kb index --full`")
        self._marker = marker
        return snapshot

    def refresh(self, force: bool = False) -> bool:
        """Switch to a newly published index version if there is one; True if it switched."""
        now = time.monotonic()
        if not force and now - self._checked < 1.0:
            return False
        self._checked = now
        if versions.current_marker(self.data_dir) == self._marker and not force:
            return False
        with self._lock:
            try:
                fresh = self._load()
            except (versions.NoIndex, OSError, ValueError, KeyError, IndexModelMismatch):
                return False  # keep serving the version we have
            if fresh.version == self.snapshot.version:
                return False
            fresh.keyword.adopt_fuzzy(self.snapshot.keyword)  # the typo map before the swap, not on a query
            self.snapshot = fresh
            return True

    # -- queries ---------------------------------------------------------------------------------

    def visible(self, article: Article, audience: str) -> bool:
        """May this audience see this article today?"""
        if audience == "internal":
            return True
        return not article.is_internal and not article.is_expired(self.today())

    def article(self, article_id: str, audience: str = "public") -> Article | None:
        """One article if it exists and the audience may see it."""
        self.refresh()
        article = self.snapshot.articles.get(article_id)
        return article if article is not None and self.visible(article, audience) else None

    def _encoder_pool(self) -> ThreadPoolExecutor:
        """One embedding thread per process (made lazily: a gunicorn worker forked after preload has none)."""
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool, self._pool_pid = ThreadPoolExecutor(1, thread_name_prefix="kb-embed"), os.getpid()
        return self._pool

    def search(self, query: str, *, office: str | None = None, group: str | None = None,
               language: str | None = None, audience: str = "public", k: int = 10,
               method: str = "hybrid", query_vector=None) -> SearchResult:
        """Search articles; `audience="internal"` (handlers) also sees internal articles and notes.

        `query_vector`: the query's embedding when the caller already has it (the gap queue embeds in batches).
        """
        started = time.perf_counter()
        self.refresh()
        snap = self.snapshot
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
        text = clean_query(query, self.max_query_length)
        k = max(1, min(int(k), 100))
        if not text:
            return SearchResult(text, [], 0.0, method, 0.0, snap.version)
        include_internal = audience == "internal"
        filters = dict(office=office or None, group=group or None, language=language or None,
                       include_internal=include_internal)
        pending = None
        if method == "hybrid" and query_vector is None:
            # The model (torch, GIL released) embeds on the second core while Whoosh (Python) matches words.
            pending = self._encoder_pool().submit(self.encoder.encode_queries, [text])
        kw = snap.keyword.search(text, CANDIDATES, fuzzy=self.fuzzy, **filters) if method != "vector" else None
        vec = []
        if method != "keyword":
            if pending is not None:
                query_vector = pending.result()[0]
            elif query_vector is None:
                query_vector = self.encoder.encode_queries([text])[0]
            vec = snap.vector.search(query_vector, CANDIDATES, **filters)
        kw_hits = kw.hits if kw else []
        coverage = kw.coverage if kw else 0.0
        vec_pairs = [(article_id, score) for article_id, score, _ in vec]
        if method == "keyword":
            fused = fuse(kw_hits, [], 1.0, "weighted", keyword_weight=1.0)
        elif method == "vector":
            fused = fuse([], vec_pairs, 0.0, "weighted")
        else:
            fused = fuse(kw_hits, vec_pairs, coverage, self.fusion, **self.fusion_params)
            if snap.sparse is not None and self.sparse_weight > 0:
                query_sparse = self.encoder.query_sparse(text)
                if query_sparse is not None:
                    scored = snap.sparse.score(query_sparse, [f.id for f in fused], include_internal)
                    fused = add_sparse(fused, scored, self.sparse_weight)
        best_chunk = {article_id: chunk for article_id, _, chunk in vec}
        terms = kw.terms if kw else set()
        hits: list[Hit] = []
        for item in fused:
            article = snap.articles.get(item.id)
            if article is None or not self.visible(article, audience):
                continue
            hits.append(self._hit(article, item, terms, best_chunk.get(item.id), include_internal, coverage))
            if len(hits) >= k:
                break
        confidence = hits[0].confidence if hits else 0.0
        return SearchResult(text, hits, confidence, method, (time.perf_counter() - started) * 1000, snap.version,
                            coverage)

    def _hit(self, article: Article, item, terms: set[str], chunk_id: int | None, include_internal: bool,
             coverage: float) -> Hit:
        snap = self.snapshot
        preferred = None
        # Only a passage of the public answer makes a snippet: a matched title or
        # alternative question would just repeat the question back.
        if chunk_id is not None:
            preferred = snap.vector.passage_text(chunk_id)
        snippet = make_snippet(snap.plain_answer(article), terms, preferred)
        matched = [name for name, rank in (("keyword", item.keyword_rank), ("vector", item.vector_rank)) if rank]
        translations = [{"id": t.id, "language": t.language, "title": t.title}
                        for t in snap.translations_of(article.id)
                        if self.visible(t, "internal" if include_internal else "public")]
        if article.translation_of and article.translation_of in snap.articles:
            original = snap.articles[article.translation_of]
            translations.insert(0, {"id": original.id, "language": original.language, "title": original.title})
        return Hit(
            id=article.id, title=article.title, office=article.office, group=article.group,
            language=article.language, audience=article.audience, score=round(item.score, 4),
            confidence=round(confidence_of(item, coverage), 3), matched=matched, snippet=snippet,
            signals={"keyword": {"rank": item.keyword_rank, "score": item.keyword_score},
                     "vector": {"rank": item.vector_rank, "score": item.vector_score},
                     "sparse": {"score": None if item.sparse_score is None else round(item.sparse_score, 4)}},
            translations=translations, translation_of=article.translation_of,
        )


def confidence_of(item, coverage: float) -> float:
    """0..1: how likely this hit answers the query, from its best chunk's cosine.

    Keyword evidence is left out on purpose: common words ("tips", "byta")
    match somewhere for almost any question, so it raised unanswerable queries.
    """
    if item.vector_score is None:
        return 0.0
    return min(1.0, max(0.0, (item.vector_score - UNRELATED_COSINE) / (CONFIDENT_COSINE - UNRELATED_COSINE)))
