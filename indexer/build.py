"""Build a new index version from the content folder and switch to it atomically.

Incremental by default (indexer/previous.py): unchanged article files are not
parsed again (kb/parse_cache.py), and their chunks, vectors, sparse rows and
keyword segments are taken from the current version; only edited articles are
chunked, embedded and analysed. `full=True` builds everything from scratch.
Over a large current version the new one is a delta of it (indexer/delta.py): the
big per-chunk files are hard-linked, and only the rows of edited articles written.
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

from indexer import article_table, chunk_table, delta, keyword_columns, keyword_matrix, rows, sparse_index, versions
from indexer.analysis import ANALYZER_VERSION
from indexer.ann.factory import create_ann
from indexer.chunking import CHUNKER_VERSION, Chunk, chunk_article
from indexer.keyword_index import build_keyword_index, update_keyword_index
from indexer.previous import DIGESTS_FILE, DigestMemo, Previous, article_context, article_digest, open_previous
from kb.embedding.base import Encoder
from kb.loader import Corpus, load_content
from kb.parse_cache import ParseCache, cache_file
from kb.schema import Article, article_fields

INDEX_FORMAT = 1
RECORD_FORMAT = "record-3"   # articles.jsonl lines: article_table.record() (with "plain" since record-3)
# Digests of the last watcher build's article objects: the next one hashes only the edited ones.
_DIGESTS = DigestMemo()


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
    delta_of: str | None = None   # the base version whose rows this one shares (indexer/delta.py), if any


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


@dataclass
class _Layout:
    """Where the plan's chunks go: rows [0, base) are the previous version's base part, linked; the rest written."""

    base: int              # rows shared with the previous version's base (0: the version is written whole)
    row: np.ndarray        # per plan chunk, its row in the new version
    written: np.ndarray    # the plan chunks written now, in row order (rows base, base + 1, ...)
    dead: int = 0          # base rows no article owns any more

    @property
    def rows(self) -> int:
        """Chunk rows of the new version, dead ones included."""
        return self.base + len(self.written)


def _layout(plan: _Plan, previous: Previous | None) -> _Layout:
    """A delta of the previous version's base when that is large and little changed, else everything anew."""
    everything = np.arange(len(plan), dtype=np.int64)
    if previous is None or not previous.same_analyzer:   # another analyser: the keyword matrix is made anew
        return _Layout(0, everything, everything)
    base = previous.table.base
    kept = (plan.copied >= 0) & (plan.copied < base)
    written = np.flatnonzero(~kept)
    dead = base - int(kept.sum())
    if not delta.worth_it(base, len(written), dead):
        return _Layout(0, everything, everything)
    row = np.empty(len(plan), dtype=np.int64)
    row[kept] = plan.copied[kept]
    row[written] = base + np.arange(len(written))
    return _Layout(base, row, written, dead)


def _plan(articles: list[Article], previous: Previous | None, memo: DigestMemo | None = None) -> _Plan:
    """Chunk only what changed; reuse rows of unchanged articles and of identical chunk texts."""
    digests = memo.digests(articles) if memo is not None else [article_digest(item) for item in articles]
    # Per article its row in the previous version if unchanged there (-1: chunk it anew).
    if previous is not None:
        ids = [item.id for item in articles]
        if ids == list(previous.digests):   # the same articles in the same order (an edit): compare row by row
            pool_sources = np.array([row if new == old else -1 for row, (new, old) in
                                     enumerate(zip(digests, previous.digests.values()))], dtype=np.int64)
        else:
            old_digests, old_position = previous.digests, previous.position
            pool_sources = np.array([old_position[item_id] if old_digests.get(item_id) == digest else -1
                                     for item_id, digest in zip(ids, digests)], dtype=np.int64)
    else:
        pool_sources = np.full(len(articles), -1, dtype=np.int64)
    changed_at = np.flatnonzero(pool_sources < 0)
    changed = [articles[i] for i in changed_at.tolist()]
    chunks = [chunk_article(item) for item in changed]
    # Chunk counts per article, then every array filled at once: a Python step per changed article only.
    lengths = np.zeros(len(articles), dtype=np.int64)
    kept = np.flatnonzero(pool_sources >= 0)
    if len(kept):
        lengths[kept] = previous.last[pool_sources[kept]] - previous.first[pool_sources[kept]]
    lengths[changed_at] = [len(found) for found in chunks]
    starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
    article = np.repeat(np.arange(len(articles), dtype=np.int64), lengths)
    copied = np.full(len(article), -1, dtype=np.int64)
    if len(kept):
        copied[rows.ranges(starts[kept], starts[kept] + lengths[kept])] = rows.ranges(
            previous.first[pool_sources[kept]], previous.last[pool_sources[kept]])
    sources = copied.copy()
    fresh: dict[int, Chunk] = {}
    for position, found in zip(changed_at.tolist(), chunks):
        for offset, chunk in enumerate(found):
            row = int(starts[position]) + offset
            fresh[row] = chunk
            if previous is not None:
                sources[row] = previous.key_rows.get(chunk.key().encode(), -1)
    removed = set(previous.digests) - {a.id for a in articles} if previous is not None else set()
    return _Plan(article, copied, sources, fresh, changed, removed, pool_sources, digests)


def _embed(plan: _Plan, layout: _Layout, encoder: Encoder, previous: Previous | None, batch_size: int,
           progress: bool) -> tuple[np.ndarray, object, int]:
    """Dense matrix and sparse rows of the chunks written now: copied where the plan has a source, fresh else."""
    written = layout.written
    sources = plan.sources[written]
    vectors = np.zeros((len(written), encoder.dimension), dtype=np.float32)
    if previous is not None:
        rows.copy_rows(vectors, previous.vectors, sources)   # runs of rows: a few slices, not a gather
    todo = np.flatnonzero(sources < 0).tolist()
    chunk = {j: plan.fresh[int(written[j])] for j in todo}
    todo_q = [j for j in todo if chunk[j].embed_as_query]
    # Long passages last and sorted by length: batches of similar length pad less.
    todo_p = sorted((j for j in todo if not chunk[j].embed_as_query), key=lambda j: len(chunk[j].text))
    fresh_sparse: dict[int, object] = {}
    for kind, batch in (("query", todo_q), ("passage", todo_p)):
        if batch:
            dense, found = encoder.encode_with_sparse([chunk[j].text for j in batch], kind, batch_size,
                                                      progress and kind == "passage")
            vectors[batch] = dense
            fresh_sparse.update(zip(batch, found))
    sparse = None
    if encoder.sparse_dimension:
        fresh = sparse_index.chunk_matrix([fresh_sparse[j] for j in todo], encoder.sparse_dimension)
        sparse = sparse_index.assemble(previous.sparse_chunks if previous is not None else None, sources, fresh)
    return vectors, sparse, len(todo)


def _write_chunks(version_dir: Path, plan: _Plan, layout: _Layout,
                  previous: Previous | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """chunks.jsonl and its table (lines of unchanged articles copied as they are); (files, article, internal)."""
    written, base = layout.written, layout.base
    copied = plan.copied[written]
    old_rows = copied[copied >= 0].tolist()
    old_lines = iter(previous.chunk_lines(old_rows) if old_rows else [])
    lines = [next(old_lines) if row >= 0 else chunk_table.chunk_line(plan.fresh[int(i)])
             for i, row in zip(written.tolist(), copied.tolist())]
    article = np.full(layout.rows, -1, dtype=np.int64)
    article[layout.row] = plan.article
    kind = np.zeros(layout.rows, dtype=np.uint8)
    internal = np.zeros(layout.rows, dtype=bool)
    keys = np.zeros(layout.rows, dtype="S24")
    if base:
        kind[:base], internal[:base] = previous.table.kind[:base], previous.table.internal[:base]
        keys[:base] = previous.table.keys[:base]
    old = np.flatnonzero(copied >= 0)
    if len(old):
        kind[base + old] = previous.table.kind[copied[old]]
        internal[base + old] = previous.table.internal[copied[old]]
        keys[base + old] = previous.table.keys[copied[old]]
    for i, chunk in plan.fresh.items():
        row = layout.row[i]
        kind[row], internal[row], keys[row] = chunk_table.KINDS.index(chunk.kind), chunk.internal, chunk.key().encode()
    base_offsets = previous.table.offsets[:base + 1] if base else None
    return chunk_table.write(version_dir, lines, article, kind, internal, keys, base_offsets), article, internal


def _write_articles(version_dir: Path, articles: list[Article], sources: np.ndarray, previous: Previous | None,
                    context: str, as_delta: bool) -> tuple[list[str], dict[str, list]]:
    """articles.jsonl and its table: the previous line of each unchanged article (same digest and context).

    `as_delta`: link the previous version's articles.jsonl and write only the other lines (to delta/).
    Returns the file names and the checksums taken over for a linked file.
    """
    encode = json.JSONEncoder(ensure_ascii=False).encode   # one encoder, not one per article
    reusable = previous is not None and previous.article_context == context
    if as_delta and reusable:
        try:
            linked = article_table.read_lines(previous.dir)
        except (OSError, ValueError, KeyError):
            linked = None
        if linked is not None and len(linked.part) == len(previous.digests):
            kept = sources >= 0
            kept[kept] = linked.part[sources[kept]] == 0
            others = [(article, int(row)) for article, row, keep in zip(articles, sources.tolist(), kept.tolist())
                      if not keep]
            moved = [row for _article, row in others if row >= 0]   # lines of the previous delta, copied
            old_delta = (previous.dir / article_table.DELTA_TEXT_FILE).read_bytes() if moved else b""
            delta_lines = {row: old_delta[linked.start[row]:linked.end[row]] for row in moved}
            new_lines = [delta_lines[row] if row >= 0
                         else (encode(article_table.record(article)) + "\n").encode("utf-8")
                         for article, row in others]
            names = [article_table.TEXT_FILE]
            if article_table.unchanged_columns(previous.dir, linked, articles, sources, previous.position):
                names.append(article_table.COLUMNS_FILE)
                columns = None
            else:
                columns = article_table.columns_reused(articles, sources, article_table.read_columns(previous.dir))
            known = delta.link_base(previous.dir, version_dir, names, (previous.manifest or {}).get("checksums", {}))
            at = sources[kept]
            return article_table.write_delta(
                version_dir, kept, article_table.Lines(linked.part[at], linked.start[at], linked.end[at]),
                new_lines, columns), known
    columns = article_table.columns_of(articles)
    previous_lines = previous.article_lines(context) if previous is not None else None
    lines = [previous_lines[row] if previous_lines is not None and row >= 0
             else (encode(article_table.record(article)) + "\n").encode("utf-8")
             for article, row in zip(articles, sources.tolist())]
    return article_table.write(version_dir, lines, columns), {}


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
        # A kept parse cache's articles are never changed once loaded: their digests can be kept by object.
        plan = _plan(articles, previous, _DIGESTS if parse_cache is not None and cache is not None else None)
        layout = _layout(plan, previous)
        vectors, sparse, embedded = _embed(plan, layout, encoder, previous, batch_size, progress)
        version_dir = versions.new_version_dir(data_dir)
        try:
            _write_version(version_dir, corpus, articles, plan, layout, vectors, sparse, encoder, backend,
                           content_dir, previous)
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
        delta_of=(_delta_note(layout, previous) or {}).get("base_version"),
    )


def _write_version(version_dir: Path, corpus: Corpus, articles: list[Article], plan: _Plan, layout: _Layout,
                   vectors: np.ndarray, sparse, encoder: Encoder, backend: str, content_dir: Path,
                   previous: Previous | None) -> None:
    previous_checksums = (previous.manifest or {}).get("checksums", {}) if previous is not None else {}
    # Read before any file is linked (a link moves the file's ctime): what may stay unhashed (versions.HASH_RECORD).
    vouched = versions.vouched_for(previous.dir) if previous is not None else {}
    known, delta_files = {}, []
    # Per article its row in the previous version's per-article stores (pools, keyword matrix), or -1.
    article_sources = plan.pool_sources
    if previous is not None:
        article_sources = np.where(article_sources >= 0, previous.article_rows[np.maximum(article_sources, 0)], -1)
    base_articles = previous.base_articles() if layout.base else 0
    if layout.base:
        delta.write_article_rows(version_dir, article_sources, base_articles)
    if previous is not None and previous.same_analyzer:
        linked = update_keyword_index(version_dir / "keyword", previous.keyword_dir(), plan.changed, plan.removed)
        known = {f"keyword/{name}": previous_checksums[f"keyword/{name}"] for name in linked
                 if f"keyword/{name}" in previous_checksums}
        matrix_files = keyword_matrix.write(version_dir, articles, previous.dir, article_sources,
                                            base_articles if layout.base else None)
    else:
        build_keyword_index(version_dir / "keyword", articles)
        matrix_files = keyword_matrix.write(version_dir, articles)
    if layout.base:
        # The base's rows are linked, not written (and their checksums taken from its manifest).
        known |= delta.link_base(previous.dir, version_dir, delta.base_files(previous.dir, sparse is not None),
                                 previous_checksums)
        delta_files = [chunk_table.TEXT_FILE, delta.DELTA_DIR]
        (version_dir / delta.DELTA_DIR).mkdir(exist_ok=True)
        if (version_dir / keyword_columns.COLUMNS_DIR).is_dir():
            matrix_files.append(keyword_columns.COLUMNS_DIR)
    else:
        matrix_files += keyword_columns.write(version_dir, len(articles))
    ann = create_ann(backend, encoder.dimension)
    ann.build(vectors)
    ann.save(version_dir / delta.DELTA_DIR / "vectors.faiss" if layout.base else version_dir / "vectors.faiss")
    chunk_files, chunk_article, internal = _write_chunks(version_dir, plan, layout, previous)
    sparse_files = []
    if sparse is not None:
        reuse = previous is not None and previous.sparse_chunks is not None
        previous_norms = sparse_index.load_chunk_norms(previous.dir, previous.sparse_chunks) if reuse else None
        norms = sparse_index.chunk_norms(sparse, previous_norms, plan.sources[layout.written])
        if layout.base:
            norms = np.concatenate([previous_norms[:layout.base], norms])
        sparse_files = sparse_index.write(
            version_dir, sparse, chunk_article, internal, len(articles), norms,
            previous.sparse_pools if previous is not None else None, article_sources,
            (layout.base, base_articles) if layout.base else None)
    (version_dir / DIGESTS_FILE).write_text(
        json.dumps(dict(zip([article.id for article in articles], plan.digests))), encoding="utf-8")
    # The record format is part of the context: lines of the older format (body always written) are re-encoded.
    context = article_context(corpus.articles, (*article_fields(), RECORD_FORMAT))
    article_files, linked = _write_articles(version_dir, articles, plan.pool_sources, previous, context,
                                            bool(layout.base))
    known |= linked
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
        "delta": _delta_note(layout, previous, base_articles),
        "files": ["keyword", "vectors.faiss", *chunk_files, *article_files, "content.json",
                  DIGESTS_FILE, *matrix_files, *sparse_files, *delta_files],
    }, known, vouched)
    if previous is not None and known:
        versions.rekey(previous.dir, vouched)   # its files just linked here stay vouched for there too


def _delta_note(layout: _Layout, previous: Previous | None, base_articles: int = 0) -> dict | None:
    """For the manifest: which version's rows a delta version shares, and how many rows are new or dead."""
    if not layout.base:
        return None
    base_version = ((previous.manifest or {}).get("delta") or {}).get("base_version") or previous.dir.name
    return {"base_version": base_version, "base_chunks": layout.base, "delta_chunks": len(layout.written),
            "dead_chunks": layout.dead, "base_articles": base_articles}
