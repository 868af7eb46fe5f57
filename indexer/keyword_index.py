"""The Whoosh keyword index: Swedish analysis, one document per article."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import FileStorage

from indexer.analysis import swedish_analyzer
from kb.markdown import plain_text
from kb.schema import Article

# Field boosts, measured (docs/benchmarks.md): boosting short title fields
# lets one common title word outrank the answer that really matches (SweQUAD
# MRR@10 0.72 at title x3 vs 0.84 at x0.5), while our own questions gain
# nothing from it: the vector side already matches question to question.
FIELD_BOOSTS = {"title": 0.5, "alt": 1.0, "tags": 1.0, "body": 1.0, "internal": 1.0}
PUBLIC_FIELDS = ("title", "alt", "tags", "body")
ALL_FIELDS = PUBLIC_FIELDS + ("internal",)


def keyword_schema() -> Schema:
    """Schema of the keyword index."""
    analyzer = swedish_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        office=ID, group=ID, audience=ID, language=ID,
        title=TEXT(analyzer=analyzer), alt=TEXT(analyzer=analyzer), tags=TEXT(analyzer=analyzer),
        body=TEXT(analyzer=analyzer), internal=TEXT(analyzer=analyzer),
    )


def _group_key(group: str) -> str:
    return group.strip().lower()


def article_document(article: Article) -> dict:
    """The fields of one article as the keyword index stores them (internal notes in their own field)."""
    return {
        "id": article.id,
        "office": article.office,
        "group": _group_key(article.group),
        "audience": article.audience,
        "language": article.language,
        "title": article.title,
        "alt": "\n".join(article.alt_questions),
        "tags": " ".join(article.tags),
        "body": plain_text(article.public_body),
        "internal": "\n".join(plain_text(note) for note in article.internal_notes),
    }


def build_keyword_index(folder: Path, articles: list[Article]) -> None:
    """Write a fresh Whoosh index of these articles into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(folder), keyword_schema())
    # One segment, written in one go: no merges at query time.
    writer = ix.writer(limitmb=256)
    for article in articles:
        writer.add_document(**article_document(article))
    writer.commit(optimize=True)


def update_keyword_index(folder: Path, previous: Path, articles: list[Article], remove: set[str]) -> list[str]:
    """Write into `folder` the index at `previous` with `remove` ids deleted and `articles` (re)added.

    Returns the names of the files shared with `previous` (hard links: their checksums need no new hashing).
    """
    # Whoosh keeps the old segments and adds one for the edit. A segment file is never written
    # again once made (deletions live in the table of contents, merges write new files), so the
    # segments are hard-linked, not copied: 0.5 GB at 100 000 articles. The table of contents is
    # copied, and locks are left behind.
    folder.mkdir(parents=True)
    linked = []
    for path in sorted(previous.iterdir()):
        if not path.is_file() or "LOCK" in path.name:
            continue
        if path.suffix == ".toc":
            shutil.copyfile(path, folder / path.name)
            continue
        try:
            os.link(path, folder / path.name)
            linked.append(path.name)
        except OSError:
            shutil.copyfile(path, folder / path.name)
    # Without mmap: Whoosh copies a mapped segment's whole term file into memory to look up one id
    # (0.2 s at 100 000 articles); read through the file, it seeks to the few terms a delete needs.
    ix = FileStorage(str(folder), supports_mmap=False).open_index()
    writer = ix.writer(limitmb=64)
    for article_id in sorted(remove | {article.id for article in articles}):
        writer.delete_by_term("id", article_id)
    for article in articles:
        writer.add_document(**article_document(article))
    # The default merge policy folds small segments together as edits pile up.
    writer.commit()
    return [name for name in linked if (folder / name).exists()]


def segment_count(folder: Path) -> int:
    """How many segments the index at `folder` has (a full build writes one)."""
    if not folder.exists():
        return 0
    with whoosh_index.open_dir(str(folder)).reader() as reader:
        return len(reader.leaf_readers())


def group_key(group: str) -> str:
    """How an answer group name is stored for filtering."""
    return _group_key(group)
