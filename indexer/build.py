"""Build a new index version from the content folder and switch to it atomically.

Incremental by default (indexer/previous.py): unchanged article files are not
parsed again (kb/parse_cache.py), and their chunks, vectors, sparse rows and
keyword segments are taken from the current version; only edited articles are
chunked, embedded and analysed. `full=True` builds everything from scratch.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer import article_table, chunk_table, keyword_matrix, sparse_index, versions
from indexer.analysis import ANALYZER_VERSION
from indexer.ann.factory import create_ann
from indexer.chunking import CHUNKER_VERSION, Chunk, chunk_article
from indexer.keyword_index import build_keyword_index, update_keyword_index
from indexer.previous import DIGESTS_FILE, Previous, article_context, article_digest, open_previous
from indexer.rows import copy_rows
from kb.embedding.base import Encoder
from kb.loader import Corpus, load_content
from kb.parse_cache import ParseCache, cache_file
from kb.schema import Article, article_fields

INDEX_FORMAT = 1
RECORD_FORMAT = "record-2"   # articles.jsonl lines: Article.to_record()


@dataclass
class BuildReport:
    """What a build did, for the CLI and the benchmarks."""

    version: str
    articles: int
    chunks: int
    embedded: int
    reused: int
    seconds: float
    issues: list[str] = field(default_factory=list)
    errors: int = 0


def _content_commit(content_dir: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(content_dir), "log", "-1", "--format=%H", "--", "."],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


@dataclass
class _Plan:
    """Per chunk of the new version: where its record and its vectors come from."""

    article: np.ndarray            # position of the chunk's article in the new articles list
    copied: np.ndarray             # previous chunk row whose record is copied (unchanged article), or -1
    sources: np.ndarray            # previous chunk row whose vectors are copied, or -1 to embed
    fresh: dict[int, Chunk]        # chunk row → chunk, for chunks of new or edited articles
    changed: list[Article]         # articles whose keyword document must be (re)written
    removed: set[str]              # article ids gone since the previous version
    pool_sources: np.ndarray       # per article its previous row (articles.jsonl, sparse pools), or -1
    digests: list[str]             # per article its article_digest(), for digests.json

    def __len__(self) -> int:
        return len(self.article)


def _plan(articles: list[Article], previous: Previous | None) -> _Plan:
    """Chunk only what changed; reuse rows of unchanged articles and of identical chunk texts."""
    article, copied, sources = [], [], []
    fresh: dict[int, Chunk] = {}
    changed: list[Article] = []
    pool_sources = np.full(len(articles), -1, dtype=np.int64)
    digests = [article_digest(item) for item in articles]
    for position, item in enumerate(articles):
        if previous is not None and previous.unchanged(item, digests[position]):
            rows = previous.chunk_rows(item.id)
            article += [position] * len(rows)
            copied += rows
            sources += rows
            pool_sources[position] = previous.position[item.id]
            continue
        changed.append(item)
        for chunk in chunk_article(item):
            fresh[len(article)] = chunk
            article.append(position)
            copied.append(-1)
            sources.append(previous.key_rows.get(chunk.key().encode(), -1) if previous is not None else -1)
    removed = set(previous.digests) - {a.id for a in articles} if previous is not None else set()
    return _Plan(np.array(article, dtype=np.int64), np.array(copied, dtype=np.int64),
                 np.array(sources, dtype=np.int64), fresh, changed, removed, pool_sources, digests)


def _embed(plan: _Plan, encoder: Encoder, previous: Previous | None, batch_size: int,
           progress: bool) -> tuple[np.ndarray, object, int]:
    """Dense matrix and sparse CSR of every chunk: copied rows where the plan has a source, fresh ones else."""
    sources = plan.sources
    vectors = np.zeros((len(plan), encoder.dimension), dtype=np.float32)
    if previous is not None:
        copy_rows(vectors, previous.vectors, sources)   # runs of rows: a few slices, not a gather
    todo = [int(i) for i in np.flatnonzero(sources < 0)]
    todo_q = [i for i in todo if plan.fresh[i].embed_as_query]
    # Long passages last and sorted by length: batches of similar length pad less.
    todo_p = sorted((i for i in todo if not plan.fresh[i].embed_as_query), key=lambda i: len(plan.fresh[i].text))
    fresh_sparse: dict[int, object] = {}
    for kind, rows in (("query", todo_q), ("passage", todo_p)):
        if rows:
            dense, found = encoder.encode_with_sparse([plan.fresh[i].text for i in rows], kind, batch_size,
                                                      progress and kind == "passage")
            vectors[rows] = dense
            fresh_sparse.update(zip(rows, found))
    sparse = None
    if encoder.sparse_dimension:
        fresh = sparse_index.chunk_matrix([fresh_sparse[i] for i in todo], encoder.sparse_dimension)
        sparse = sparse_index.assemble(previous.sparse_chunks if previous is not None else None, sources, fresh)
    return vectors, sparse, len(todo)


def _write_chunks(version_dir: Path, plan: _Plan, previous: Previous | None) -> tuple[list[str], np.ndarray]:
    """chunks.jsonl and its table: lines of unchanged articles copied as they are, new ones written."""
    copied = plan.copied
    lines = [previous.lines[row] if row >= 0 else chunk_table.chunk_line(plan.fresh[i])
             for i, row in enumerate(copied.tolist())]
    kind = np.zeros(len(plan), dtype=np.uint8)
    internal = np.zeros(len(plan), dtype=bool)
    keys = np.zeros(len(plan), dtype="S24")
    old = np.flatnonzero(copied >= 0)
    if len(old):
        kind[old] = previous.table.kind[copied[old]]
        internal[old] = previous.table.internal[copied[old]]
        keys[old] = previous.table.keys[copied[old]]
    for i, chunk in plan.fresh.items():
        kind[i], internal[i], keys[i] = chunk_table.KINDS.index(chunk.kind), chunk.internal, chunk.key().encode()
    return chunk_table.write(version_dir, lines, plan.article, kind, internal, keys), internal


def _write_articles(version_dir: Path, articles: list[Article], sources: np.ndarray,
                    previous_lines: list[bytes] | None) -> list[str]:
    """articles.jsonl and its table: the previous line of each unchanged article (same digest and context)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode   # one encoder, not one per article
    lines = [previous_lines[row] if previous_lines is not None and row >= 0
             else (encode(article.to_record()) + "\n").encode("utf-8")
             for article, row in zip(articles, sources.tolist())]
    return article_table.write(version_dir, lines, article_table.columns_of(articles))


def build_index(content_dir: str | Path, data_dir: str | Path, encoder: Encoder, *, full: bool = False,
                backend: str = "flat16", batch_size: int = 32, keep: int = 3, progress: bool = False,
                today: dt.date | None = None, corpus: Corpus | None = None,
                parse_cache: ParseCache | None = None) -> BuildReport:
    """Load, chunk, embed (reusing unchanged articles unless `full`), write a version, switch CURRENT to it.

    `parse_cache`: one kept in memory between builds (`kb index --watch`) instead of the cache file.
    """
    started = time.perf_counter()
    content_dir, data_dir = Path(content_dir), Path(data_dir)
    today = today or dt.date.today()
    with versions.build_lock(data_dir):
        cache_path = cache_file(data_dir)
        cache = None
        if corpus is None:
            cache = parse_cache if parse_cache is not None \
                else ParseCache() if full else ParseCache.load(cache_path)
            cache.hits = cache.misses = 0   # counted per load: worth_saving() looks at this build's misses
            corpus = load_content(content_dir, today=today, cache=cache)
        fingerprint = encoder.fingerprint()
        previous = None if full else open_previous(data_dir, fingerprint, ANALYZER_VERSION, CHUNKER_VERSION,
                                                   encoder.sparse_fingerprint if encoder.sparse_dimension else None)
        # Drafts (`draft: true`, from the gap queue) hold TODO text: nobody may find them until they are finished.
        articles = [article for article in corpus.articles.values() if not article.draft]
        plan = _plan(articles, previous)
        vectors, sparse, embedded = _embed(plan, encoder, previous, batch_size, progress)
        version_dir = versions.new_version_dir(data_dir)
        try:
            _write_version(version_dir, corpus, articles, plan, vectors, sparse, encoder, backend, content_dir,
                           previous)
        except BaseException:
            shutil.rmtree(version_dir, ignore_errors=True)
            raise
        versions.switch_to(data_dir, version_dir)
        versions.prune(data_dir, keep, protect=version_dir)
        if cache is not None and cache.worth_saving():
            cache.save(cache_path)
    return BuildReport(
        version=version_dir.name, articles=len(articles), chunks=len(plan), embedded=embedded,
        reused=len(plan) - embedded, seconds=time.perf_counter() - started,
        issues=[str(issue) for issue in corpus.issues], errors=len(corpus.errors),
    )


def _write_version(version_dir: Path, corpus: Corpus, articles: list[Article], plan: _Plan, vectors: np.ndarray,
                   sparse, encoder: Encoder, backend: str, content_dir: Path, previous: Previous | None) -> None:
    if previous is not None and previous.same_analyzer:
        update_keyword_index(version_dir / "keyword", previous.keyword_dir(), plan.changed, plan.removed)
        matrix_files = keyword_matrix.write(version_dir, articles, previous.dir, plan.pool_sources)
    else:
        build_keyword_index(version_dir / "keyword", articles)
        matrix_files = keyword_matrix.write(version_dir, articles)
    ann = create_ann(backend, encoder.dimension)
    ann.build(vectors)
    ann.save(version_dir / "vectors.faiss")
    chunk_files, internal = _write_chunks(version_dir, plan, previous)
    sparse_files = []
    if sparse is not None:
        reuse = previous is not None and previous.sparse_chunks is not None
        sparse_files = sparse_index.write(
            version_dir, sparse, plan.article, internal, len(articles),
            previous.sparse_pools if previous is not None else None, plan.pool_sources,
            sparse_index.load_chunk_norms(previous.dir, previous.sparse_chunks) if reuse else None, plan.sources)
    (version_dir / DIGESTS_FILE).write_text(
        json.dumps({article.id: digest for article, digest in zip(articles, plan.digests)}), encoding="utf-8")
    # The record format is part of the context: lines of the older format (body always written) are re-encoded.
    context = article_context(corpus.articles, (*article_fields(), RECORD_FORMAT))
    article_files = _write_articles(version_dir, articles, plan.pool_sources,
                                    previous.article_lines(context) if previous is not None else None)
    extras = {
        "offices": {key: office.to_dict() for key, office in corpus.offices.items()},
        "notices": [notice.to_dict() for notice in corpus.notices],
        "synonyms": corpus.synonyms,
    }
    # No indent: json's C encoder (an indent means the pure-Python one, 0.1 s at 10 000 articles' offices).
    (version_dir / "content.json").write_text(json.dumps(extras, ensure_ascii=False))
    versions.write_manifest(version_dir, {
        "format": INDEX_FORMAT,
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": encoder.name, "fingerprint": encoder.fingerprint(), "dimension": encoder.dimension},
        "analyzer": ANALYZER_VERSION,
        "chunker": CHUNKER_VERSION,
        "vector_backend": backend,
        "content_commit": _content_commit(content_dir),
        "articles": len(articles),
        "chunks": len(plan),
        "issues": [str(issue) for issue in corpus.issues],
        "article_context": context,
        "sparse": {"dimension": encoder.sparse_dimension, "head": encoder.sparse_fingerprint} if sparse_files else None,
        "files": ["keyword", "vectors.faiss", *chunk_files, *article_files, "content.json",
                  DIGESTS_FILE, *matrix_files, *sparse_files],
    })
