"""What the current index version lends the next build: chunks, vectors and keyword segments of unchanged articles.

An article is unchanged when its digest (file hash, office, answer group) is the
one recorded in the current version, built with the same model, analyser and
chunker. Its chunks, dense and sparse vectors and article pools are then copied
row for row; only edited articles are chunked, embedded and re-analysed. Any
doubt about the current version (missing file, other model, unreadable) means
no reuse at all: the build is then a full one, never a wrong one.

A version built as a delta (indexer/delta.py) holds its row stores in two parts, the
base's and its own; those are kept here as lists of parts, laid end to end.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer import article_table, chunk_table, delta, sparse_index, versions
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


class DigestMemo:
    """article_digest() of the articles of the last build, by object: a watcher's corpus keeps the
    objects of unchanged articles (kb/loader.py), so only edited ones are hashed again.

    The memo holds the articles it hashed, so an id() it knows always names the object it hashed.
    Hashing 100 000 articles took 0.28 s of every build; comparing them with the last list, 0.01 s.
    """

    def __init__(self):
        self.last: tuple[list[Article], list[str]] = ([], [])   # one attribute: replaced in one step

    def digests(self, articles: list[Article]) -> list[str]:
        """article_digest() of each article, in order (the memo then holds these articles)."""
        held, digests = self.last
        if len(articles) == len(held):   # the usual edit: the same list but for an object or two
            found = [digest if article is before else article_digest(article)
                     for article, before, digest in zip(articles, held, digests)]
        else:
            known = {id(article): digest for article, digest in zip(held, digests)}
            found = [known.get(id(article)) or article_digest(article) for article in articles]
        self.last = (list(articles), found)
        return found


class KeyRows:
    """Chunk key → the first row with that key, for reusing the vector of an identical text.

    An edit looks up a handful of keys: each is a scan of the key column (1 ms at 677 000 chunks),
    where making the whole dictionary cost 0.35 s. Past a few dozen lookups the dictionary is made.
    """

    SCANS = 32

    def __init__(self, keys: np.ndarray):
        self.keys = keys
        self.lookups = 0
        self.rows: dict[bytes, int] | None = None

    def get(self, key: bytes, default: int = -1) -> int:
        """The first row with this key, or `default`."""
        self.lookups += 1
        if self.rows is None and self.lookups > self.SCANS:
            self.rows = {}
            for row, found in enumerate(self.keys.tolist()):
                self.rows.setdefault(found, row)
        if self.rows is not None:
            return self.rows.get(key, default)
        hits = np.flatnonzero(self.keys == key)
        return int(hits[0]) if len(hits) else default


@dataclass
class Previous:
    """The reusable parts of the current version (rows follow its chunk table / articles.jsonl)."""

    dir: Path
    digests: dict[str, str]                  # article id → digest, in articles.jsonl order
    position: dict[str, int]                 # article id → row in articles.jsonl
    table: ChunkTable
    first: np.ndarray                        # per article row, its first chunk row
    last: np.ndarray                         # ... and one past its last
    key_rows: KeyRows                        # chunk key → a row with that text (reuse across articles)
    vectors: list[np.ndarray]                # views of the memory-mapped vector index (base, delta part)
    same_analyzer: bool
    sparse_chunks: list[sparse_index.Rows] | None = None     # parts, as `vectors`
    sparse_pools: tuple | None = None        # (public, all), each a list of parts, or None
    article_rows: np.ndarray | None = None   # per article row, its row in the pools and keyword matrix (parts)
    article_context: str | None = None       # article_context() of the corpus it was built from
    vector_index: object = None              # keeps the indexes `vectors` are views of open
    manifest: dict | None = None

    def chunk_lines(self, rows: list[int]) -> list[bytes]:
        """The chunks.jsonl lines of these rows as they are (a file is read only when a row is in it)."""
        base = self.table.base
        parts = {}
        if any(row < base for row in rows):
            parts[False] = chunk_table.read_lines(self.dir)
        if any(row >= base for row in rows):
            parts[True] = chunk_table.read_lines(self.dir, delta=True)
        return [parts[True][row - base] if row >= base else parts[False][row] for row in rows]

    def base_articles(self) -> int:
        """Rows per article store in the base part (all articles of a version written whole)."""
        return int(((self.manifest or {}).get("delta") or {}).get("base_articles", len(self.digests)))

    def article_lines(self, context: str) -> list[bytes] | None:
        """articles.jsonl line by line, when it was written in this `context` (else None: write anew)."""
        if context != self.article_context:
            return None
        try:
            lines = article_table.read_lines(self.dir).read_all(self.dir)
        except (OSError, ValueError, KeyError):
            return None
        return lines if len(lines) == len(self.digests) else None

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
        vector_index, vectors = _vectors(current, manifest, table.delta)
        sparse_chunks = pools = None
        if want_sparse:
            sparse_chunks = sparse_index.load_parts(current, sparse_index.CHUNKS_DIR, "chunks")[0]
            pools = tuple(sparse_index.load_parts(current, sparse_index.ARTICLES_DIR, "public", "all"))
        article_rows = delta.article_rows(current, len(digests))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError):   # RuntimeError: FAISS could not read
        return None
    line_count = len(table.offsets) - (2 if table.delta else 1)
    if not line_count == len(table) == sum(len(part) for part in vectors) or (
            sparse_chunks is not None and sum(part.shape[0] for part in sparse_chunks) != len(table)):
        return None
    first, last = chunk_table.article_rows(table.article, len(digests))
    return Previous(current, digests, {article_id: i for i, article_id in enumerate(digests)}, table, first, last,
                    KeyRows(table.keys), vectors, manifest.get("analyzer") == analyzer, sparse_chunks, pools,
                    article_rows, manifest.get("article_context"), vector_index, manifest)


def _vectors(version_dir: Path, manifest: dict, has_delta: bool) -> tuple[object, list[np.ndarray]]:
    """The version's chunk vectors, per part: views of its vector indexes (before 2026-12 also vectors.npy)."""
    if (version_dir / "vectors.npy").exists():
        return None, [np.load(version_dir / "vectors.npy", mmap_mode="r")]
    indexes = []
    for name in [delta.BASE_VECTORS] + ([f"{delta.DELTA_DIR}/{delta.BASE_VECTORS}"] if has_delta else []):
        ann = create_ann(manifest.get("vector_backend", "flat"), int(manifest["model"]["dimension"]))
        ann.load(version_dir / name)
        indexes.append(ann)
    return indexes, [ann.vectors() for ann in indexes]
