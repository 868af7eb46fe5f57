"""What the current index version lends the next build: chunks, vectors and keyword segments of unchanged articles.

An article is unchanged when its digest (file hash, office, answer group) is the
one recorded in the current version, built with the same model, analyser and
chunker. Its chunks, dense and sparse vectors and article pools are then copied
row for row; only edited articles are chunked, embedded and re-analysed. Any
doubt about the current version (missing file, other model, unreadable) means
no reuse at all: the build is then a full one, never a wrong one.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer import chunk_table, sparse_index, versions
from indexer.ann.factory import create_ann
from indexer.chunk_table import ChunkTable
from kb.schema import Article

DIGESTS_FILE = "digests.json"


def article_context(ids, field_names: tuple[str, ...]) -> str:
    """What an article's articles.jsonl line depends on beyond its digest.

    The loader drops `related` and `translation_of` ids that do not exist, so a line
    depends on which ids exist (drafts included); and on the fields written.
    """
    key = ",".join(field_names) + "\x00" + "\n".join(sorted(ids))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def article_digest(article: Article) -> str:
    """What the keyword document and the chunks of an article depend on: its file and its answer group."""
    key = f"{article.content_hash}\x00{article.office}\x00{article.group}\x00{article.path}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


@dataclass
class Previous:
    """The reusable parts of the current version (rows follow its chunk table / articles.jsonl)."""

    dir: Path
    digests: dict[str, str]                  # article id → digest, in articles.jsonl order
    position: dict[str, int]                 # article id → row in articles.jsonl
    table: ChunkTable
    first: np.ndarray                        # per article row, its first chunk row
    last: np.ndarray                         # ... and one past its last
    lines: list[bytes]                       # chunks.jsonl as it is
    key_rows: dict[bytes, int]               # chunk key → a row with that text (reuse across articles)
    vectors: np.ndarray                      # a view of the memory-mapped vector index
    same_analyzer: bool
    sparse_chunks: sparse_index.Rows | None = None
    sparse_pools: tuple | None = None        # (public, all) Rows, or None
    article_context: str | None = None       # article_context() of the corpus it was built from
    vector_index: object = None              # keeps the index `vectors` is a view of open

    def article_lines(self, context: str) -> list[bytes] | None:
        """articles.jsonl line by line, when it was written in this `context` (else None: write anew)."""
        if context != self.article_context:
            return None
        try:
            lines = (self.dir / "articles.jsonl").read_bytes().splitlines(keepends=True)
        except OSError:
            return None
        return lines if len(lines) == len(self.digests) else None

    def unchanged(self, article: Article, digest: str) -> bool:
        """True when this article's chunks and keyword document are those of the current version."""
        return self.digests.get(article.id) == digest

    def chunk_rows(self, article_id: str) -> range:
        """The chunk rows of an unchanged article."""
        row = self.position[article_id]
        return range(int(self.first[row]), int(self.last[row])) if row < len(self.first) else range(0)

    def keyword_dir(self) -> Path:
        """The current version's Whoosh folder."""
        return self.dir / "keyword"


def open_previous(data_dir: Path, fingerprint: str, analyzer: int, chunker: int,
                  sparse_head: str | None) -> Previous | None:
    """The current version as a source of reuse, or None when it cannot be trusted for that.

    `sparse_head`: the encoder's sparse-head fingerprint (None without a head); sparse rows made by
    another head, or another way of computing it, are not reused.
    """
    current = versions.current_unverified(data_dir)
    if current is None:
        return None
    manifest = versions.read_manifest(current) or {}
    if manifest.get("model", {}).get("fingerprint") != fingerprint or manifest.get("chunker") != chunker:
        return None
    want_sparse = sparse_head is not None
    if want_sparse and (manifest.get("sparse") or {}).get("head") != sparse_head:
        return None
    try:
        digests = json.loads((current / DIGESTS_FILE).read_text(encoding="utf-8"))
        table = chunk_table.read(current)
        lines = chunk_table.read_lines(current)
        vector_index, vectors = _vectors(current, manifest)
        sparse_chunks = pools = None
        if want_sparse:
            (sparse_chunks,) = sparse_index.load_rows(current, sparse_index.CHUNKS_DIR, "chunks")
            pools = tuple(sparse_index.load_rows(current, sparse_index.ARTICLES_DIR, "public", "all"))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError):   # RuntimeError: FAISS could not read
        return None
    if not len(lines) == len(table) == len(vectors) or (sparse_chunks is not None
                                                          and sparse_chunks.shape[0] != len(table)):
        return None
    first, last = table.article_rows()
    key_rows = {}
    for row, key in enumerate(table.keys.tolist()):
        key_rows.setdefault(key, row)
    return Previous(current, digests, {article_id: i for i, article_id in enumerate(digests)}, table, first, last,
                    lines, key_rows, vectors, manifest.get("analyzer") == analyzer, sparse_chunks, pools,
                    manifest.get("article_context"), vector_index)


def _vectors(version_dir: Path, manifest: dict) -> tuple[object, np.ndarray]:
    """The version's chunk vectors: those of its vector index (versions before 2026-12 also kept vectors.npy)."""
    if (version_dir / "vectors.npy").exists():
        return None, np.load(version_dir / "vectors.npy", mmap_mode="r")
    ann = create_ann(manifest.get("vector_backend", "flat"), int(manifest["model"]["dimension"]))
    ann.load(version_dir / "vectors.faiss")
    return ann, ann.vectors()
