"""Short, highlighted extracts of an answer for result lists."""
from __future__ import annotations

import html
import re
from functools import lru_cache

from indexer.analysis import analyze_word

SNIPPET_CHARS = 220


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


@lru_cache(maxsize=4096)
def _analysed(text: str) -> tuple[list[str], list[list[frozenset]]]:
    """The sentences of an answer and, per sentence, the analysed terms of each word.

    Cached per answer text: every search shows ten answers, and analysing their
    words again for each query was a quarter of a search's time.
    """
    sentences = _sentences(text)
    return sentences, [[frozenset(analyze_word(w)) for w in re.findall(r"\w+", s.lower())] for s in sentences]


def _score(words: list[frozenset], terms: set[str]) -> int:
    return sum(1 for word in words if not terms.isdisjoint(word))


def highlight(text: str, terms: set[str]) -> str:
    """HTML-escape `text` and wrap words whose analysed form matches a query term in <mark>."""
    out, last = [], 0
    for match in re.finditer(r"\w+", text):
        out.append(html.escape(text[last:match.start()]))
        word = match.group(0)
        if terms and terms.intersection(analyze_word(word.lower())):
            out.append(f"<mark>{html.escape(word)}</mark>")
        else:
            out.append(html.escape(word))
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def make_snippet(text: str, terms: set[str], preferred: str | None = None) -> str:
    """The best window of `text` for these terms (or the preferred passage), highlighted, as safe HTML."""
    sentences, words = _analysed(text)
    if not sentences:
        return ""
    best = max(range(len(sentences)), key=lambda i: (_score(words[i], terms), -i)) if terms else 0
    if terms and _score(words[best], terms) == 0 and preferred:
        candidates = _sentences(preferred.split("\n", 1)[-1])
        sentences, best = (candidates, 0) if candidates else (sentences, 0)
    window = sentences[best]
    i = best + 1
    while i < len(sentences) and len(window) + len(sentences[i]) < SNIPPET_CHARS:
        window += " " + sentences[i]
        i += 1
    if len(window) > SNIPPET_CHARS:
        window = window[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
    elif i < len(sentences):
        window += " …"
    return highlight(window, terms)
