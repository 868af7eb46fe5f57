"""Short, highlighted extracts of an answer for result lists."""
from __future__ import annotations

import html
import re

from indexer.analysis import analyze_word

SNIPPET_CHARS = 220


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def _score(sentence: str, terms: set[str]) -> int:
    return sum(1 for word in re.findall(r"\w+", sentence.lower()) if terms.intersection(analyze_word(word)))


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
    sentences = _sentences(text)
    if not sentences:
        return ""
    best = max(range(len(sentences)), key=lambda i: (_score(sentences[i], terms), -i)) if terms else 0
    if terms and _score(sentences[best], terms) == 0 and preferred:
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
