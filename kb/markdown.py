"""Article bodies: separating internal notes, plain text for indexing, safe HTML."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt

from kb.schema import INTERNAL_OPEN

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

# Tags a rendered answer may contain; everything else is stripped by nh3.
_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "h4", "blockquote",
    "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "hr",
}
_ALLOWED_ATTRS = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


@dataclass
class SplitBody:
    public: str
    internal: list[str]
    unclosed_line: int | None = None  # 1-based line in the body of an unclosed ::: intern


def split_internal(body: str) -> SplitBody:
    """Separate `::: intern` ... `:::` blocks from the public Markdown."""
    public_lines: list[str] = []
    internal: list[str] = []
    current: list[str] | None = None
    opened_at = 0
    for number, line in enumerate(body.splitlines(), start=1):
        stripped = line.strip()
        if current is None and stripped.lower() == INTERNAL_OPEN:
            current, opened_at = [], number
        elif current is not None and stripped == ":::":
            internal.append("\n".join(current).strip())
            current = None
        elif current is not None:
            current.append(line)
        else:
            public_lines.append(line)
    unclosed = None
    if current is not None:
        # An unclosed block stays internal: leaking it to the public would be worse.
        internal.append("\n".join(current).strip())
        unclosed = opened_at
    public = re.sub(r"\n{3,}", "\n\n", "\n".join(public_lines)).strip()
    return SplitBody(public=public, internal=[block for block in internal if block], unclosed_line=unclosed)


def render_html(markdown_text: str) -> str:
    """Markdown to sanitised HTML (no raw HTML, no scripts, safe link schemes only)."""
    html = _md.render(markdown_text or "")
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRS,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )


def plain_text(markdown_text: str) -> str:
    """Markdown to plain text: what gets indexed, snippeted and read aloud."""
    text = html.unescape(nh3.clean(_md.render(markdown_text or ""), tags=set()))
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def sections(markdown_text: str) -> list[tuple[str, str]]:
    """Split Markdown at `#`-headings into (heading, text) pairs; text before any heading has heading ''."""
    result: list[tuple[str, str]] = []
    heading, lines = "", []
    for line in (markdown_text or "").splitlines():
        match = re.match(r"^#{1,6}\s+(.*)$", line)
        if match:
            if "".join(lines).strip():
                result.append((heading, "\n".join(lines).strip()))
            heading, lines = match.group(1).strip(), []
        else:
            lines.append(line)
    if "".join(lines).strip():
        result.append((heading, "\n".join(lines).strip()))
    return result
