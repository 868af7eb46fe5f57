"""Build a new index version from the content folder and switch to it atomically.

Incremental by default: chunks whose text did not change reuse the embedding
stored in the current version, so only changed articles are re-embedded.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from indexer import sparse_index, versions
from indexer.analysis import ANALYZER_VERSION
from indexer.ann.factory import create_ann
from indexer.chunking import Chunk, chunk_article
from indexer.keyword_index import build_keyword_index
from kb.embedding.base import Encoder
from kb.loader import Corpus, load_content

INDEX_FORMAT = 1


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


def _previous_embeddings(data_dir: Path, fingerprint: str) -> dict[str, tuple]:
    """(dense, sparse) embeddings of the current version keyed by chunk hash, if built with the same model."""
    try:
        current = versions.current_version(data_dir)
    except versions.NoIndex:
        return {}
    manifest = versions.read_manifest(current) or {}
    if manifest.get("model", {}).get("fingerprint") != fingerprint:
        return {}
    try:
        keys = [json.loads(line)["key"] for line in (current / "chunks.jsonl").read_text().splitlines()]
        vectors = np.load(current / "vectors.npy", mmap_mode="r")
    except (OSError, ValueError, KeyError):
        return {}
    # A version without sparse vectors (older, or a model without a head): dense reuse only.
    sparse = sparse_index.previous_rows(current, keys) if manifest.get("sparse") else {}
    return {key: (vectors[i], sparse.get(key)) for i, key in enumerate(keys)}


def _embed(chunks: list[Chunk], encoder: Encoder, reuse: dict[str, tuple], batch_size: int,
           progress: bool) -> tuple[np.ndarray, list, int]:
    vectors = np.zeros((len(chunks), encoder.dimension), dtype=np.float32)
    sparse: list = [None] * len(chunks)
    wants_sparse = encoder.sparse_dimension > 0
    todo_q, todo_p = [], []
    for i, chunk in enumerate(chunks):
        cached = reuse.get(chunk.key())
        if cached is not None and (cached[1] is not None or not wants_sparse):
            vectors[i], sparse[i] = cached
        elif chunk.embed_as_query:
            todo_q.append(i)
        else:
            todo_p.append(i)
    # Long passages last and sorted by length: batches of similar length pad less.
    for kind, todo in (("query", todo_q), ("passage", sorted(todo_p, key=lambda i: len(chunks[i].text)))):
        if todo:
            dense, found = encoder.encode_with_sparse([chunks[i].text for i in todo], kind, batch_size,
                                                      progress and kind == "passage")
            vectors[todo] = dense
            for i, vector in zip(todo, found):
                sparse[i] = vector
    return vectors, sparse, len(todo_q) + len(todo_p)


def build_index(content_dir: str | Path, data_dir: str | Path, encoder: Encoder, *, full: bool = False,
                backend: str = "flat", batch_size: int = 32, keep: int = 3, progress: bool = False,
                today: dt.date | None = None, corpus: Corpus | None = None) -> BuildReport:
    """Load, chunk, embed (reusing unchanged chunks unless `full`), write a version, switch CURRENT to it."""
    started = time.perf_counter()
    content_dir, data_dir = Path(content_dir), Path(data_dir)
    corpus = corpus or load_content(content_dir, today=today)
    with versions.build_lock(data_dir):
        fingerprint = encoder.fingerprint()
        reuse = {} if full else _previous_embeddings(data_dir, fingerprint)
        # Drafts (`draft: true`, from the gap queue) hold TODO text: nobody may find them until they are finished.
        articles = [article for article in corpus.articles.values() if not article.draft]
        chunks = [chunk for article in articles for chunk in chunk_article(article)]
        vectors, sparse, embedded = _embed(chunks, encoder, reuse, batch_size, progress)
        version_dir = versions.new_version_dir(data_dir)
        try:
            _write_version(version_dir, corpus, articles, chunks, vectors, sparse, encoder, backend, content_dir)
        except BaseException:
            shutil.rmtree(version_dir, ignore_errors=True)
            raise
        versions.switch_to(data_dir, version_dir)
        versions.prune(data_dir, keep, protect=version_dir)
    return BuildReport(
        version=version_dir.name, articles=len(articles), chunks=len(chunks), embedded=embedded,
        reused=len(chunks) - embedded, seconds=time.perf_counter() - started,
        issues=[str(issue) for issue in corpus.issues], errors=len(corpus.errors),
    )


def _write_version(version_dir: Path, corpus: Corpus, articles, chunks: list[Chunk], vectors: np.ndarray,
                   sparse: list, encoder: Encoder, backend: str, content_dir: Path) -> None:
    build_keyword_index(version_dir / "keyword", articles)
    ann = create_ann(backend, encoder.dimension)
    ann.build(vectors)
    ann.save(version_dir / "vectors.faiss")
    np.save(version_dir / "vectors.npy", vectors)
    with open(version_dir / "chunks.jsonl", "w", encoding="utf-8") as out:
        for chunk in chunks:
            record = asdict(chunk)
            record["key"] = chunk.key()
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    sparse_files = []
    if encoder.sparse_dimension:
        position = {article.id: i for i, article in enumerate(articles)}
        sparse_files = sparse_index.write(
            version_dir, sparse, encoder.sparse_dimension,
            np.array([position[c.article_id] for c in chunks], dtype=np.int64),
            np.array([c.internal for c in chunks], dtype=bool), len(articles))
    with open(version_dir / "articles.jsonl", "w", encoding="utf-8") as out:
        for article in articles:
            out.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
    extras = {
        "offices": {key: office.to_dict() for key, office in corpus.offices.items()},
        "notices": [notice.to_dict() for notice in corpus.notices],
        "synonyms": corpus.synonyms,
    }
    (version_dir / "content.json").write_text(json.dumps(extras, ensure_ascii=False, indent=1))
    versions.write_manifest(version_dir, {
        "format": INDEX_FORMAT,
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": encoder.name, "fingerprint": encoder.fingerprint(), "dimension": encoder.dimension},
        "analyzer": ANALYZER_VERSION,
        "vector_backend": backend,
        "content_commit": _content_commit(content_dir),
        "articles": len(articles),
        "chunks": len(chunks),
        "issues": [str(issue) for issue in corpus.issues],
        "sparse": {"dimension": encoder.sparse_dimension} if sparse_files else None,
        "files": ["keyword", "vectors.faiss", "vectors.npy", "chunks.jsonl", "articles.jsonl", "content.json",
                  *sparse_files],
    })
