"""Split articles into the pieces that get their own vector."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from kb.markdown import plain_text, sections
from kb.schema import Article

# Passages of about 60 words: a question usually asks about one detail, and a
# short window's vector is about fewer things (SweQUAD-MC dense MRR@10 0.748 at
# 120 words, 0.764 at 60; see docs/benchmarks.md).
TARGET_WORDS = 60
# Bump when chunk_article's output changes: builds then stop reusing earlier chunks.
CHUNKER_VERSION = 1
MAX_WORDS = 100


@dataclass
class Chunk:
    """One embedded piece of an article: its title, an alternative question, a passage or an internal note."""

    article_id: str
    kind: str          # "title" | "question" | "passage" | "internal"
    text: str
    internal: bool = False

    @property
    def embed_as_query(self) -> bool:
        """Questions are embedded like queries: a user's question is then compared question to question."""
        return self.kind in ("title", "question")

    def key(self) -> str:
        """Content hash used to reuse an embedding when the text has not changed."""
        mode = "q" if self.embed_as_query else "p"
        return hashlib.sha256(f"{mode}\x00{self.text}".encode("utf-8")).hexdigest()[:24]


def _windows(text: str) -> list[str]:
    """Group paragraphs into windows of about TARGET_WORDS words, splitting over-long paragraphs."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n(?=[-*] )", text) if p.strip()]
    pieces: list[str] = []
    for paragraph in paragraphs:
        words = paragraph.split()
        while len(words) > MAX_WORDS:
            pieces.append(" ".join(words[:TARGET_WORDS]))
            words = words[TARGET_WORDS - 15:]  # overlap so a sentence cut in two is whole in one window
        pieces.append(" ".join(words))
    windows: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if current and len(" ".join(current + [piece]).split()) > TARGET_WORDS:
            windows.append(" ".join(current))
            current = []
        current.append(piece)
    if current:
        windows.append(" ".join(current))
    return windows


def chunk_article(article: Article) -> list[Chunk]:
    """Title (when it is a question), each alternative question, passages of the answer, internal notes.

    A title that is not phrased as a question (a heading, a topic) is not
    matched question-to-question; it still prefixes every passage.
    """
    chunks = [Chunk(article.id, "title", article.title)] if article.title.rstrip().endswith("?") else []
    chunks += [Chunk(article.id, "question", q) for q in article.alt_questions]
    for heading, text in sections(article.public_body):
        prefix = f"{article.title} {heading}".strip()
        for window in _windows(plain_text(text)):
            chunks.append(Chunk(article.id, "passage", f"{prefix}\n{window}"))
    for note in article.internal_notes:
        for window in _windows(plain_text(note)):
            chunks.append(Chunk(article.id, "internal", f"{article.title}\n{window}", internal=True))
    return chunks
