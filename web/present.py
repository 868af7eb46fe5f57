"""What pages and JSON show of articles, notices and search results, for residents or for handlers.

Everything public goes through here, so this is the one place where internal notes and
internal-only articles are kept out: `internal=False` never reads `internal_notes`.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter

import numpy as np
from flask import Flask, url_for
from markupsafe import Markup

from kb.markdown import render_html
from kb.schema import Article
from search.searcher import SearchResult
from search.snippets import make_snippet
from web import config, offices
from web.engine import get_searcher

# A hit must reach this confidence before its office is offered as "the right office" on a
# no-answer page; below it the contact centre is the honest choice.
OFFICE_GUESS_CONFIDENCE = 0.2


def init_app(app: Flask) -> None:
    """Make the template filters of this module available."""
    app.add_template_filter(demote_headings)


def audience_of(internal: bool) -> str:
    """The Searcher's audience name."""
    return "internal" if internal else "public"


def article_url(article_id: str, internal: bool) -> str:
    """The page of an article in the resident's or the handler's view."""
    return url_for("handler.article", article_id=article_id) if internal else url_for("public.article",
                                                                                       article_id=article_id)


def _translations(article: Article, internal: bool) -> list[dict]:
    searcher = get_searcher()
    snap = searcher.snapshot
    found = snap.translations_of(article.id)
    if article.translation_of and article.translation_of in snap.articles:
        original = snap.articles[article.translation_of]
        found = [original] + [t for t in snap.translations_of(original.id) if t.id != article.id]
    return [{"id": t.id, "language": t.language, "title": t.title, "url": article_url(t.id, internal)}
            for t in found if searcher.visible(t, audience_of(internal))]


def copy_text(article: Article) -> str:
    """The public answer as plain text for an e-mail reply: title, answer, e-service links. No internal notes."""
    parts = [article.title, "", get_searcher().snapshot.plain_answer(article)]   # no Markdown rendered per hit
    if article.links:
        parts += [""] + [f"{link.title}: {link.url}" for link in article.links]
    return "\n".join(parts).strip()


def article_view(article: Article, internal: bool) -> dict:
    """An article as a page or the API shows it; handler-only fields only when `internal`."""
    searcher = get_searcher()
    audience = audience_of(internal)
    related = []
    for related_id in article.related:
        other = searcher.article(related_id, audience)
        if other is not None:
            related.append({"id": other.id, "title": other.title, "language": other.language,
                            "url": article_url(other.id, internal)})
    view = {
        "id": article.id, "title": article.title, "office": article.office, "group": article.group,
        "language": article.language, "translation_of": article.translation_of,
        "html": render_html(article.public_body), "text": copy_text(article),
        "links": [{"title": link.title, "url": link.url} for link in article.links],
        "related": related, "translations": _translations(article, internal),
        "url": article_url(article.id, internal),
    }
    if internal:
        due = article.review_due()
        view.update({
            "audience": article.audience,
            "internal_notes": [render_html(note) for note in article.internal_notes],
            "owner": article.owner,
            "reviewed": article.reviewed.isoformat() if article.reviewed else None,
            "review_due": due.isoformat() if due else None,
            "review_overdue": bool(due and due < config.today()),
        })
    return view


def _active(notice: dict, today: dt.date) -> bool:
    start, end = notice.get("valid_from"), notice.get("valid_until")
    return not (start and today < dt.date.fromisoformat(start)) and not (end and today > dt.date.fromisoformat(end))


def notices(internal: bool, office: str | None = None) -> list[dict]:
    """Active notices for residents (public ones only) or handlers (all), optionally for one office."""
    snap = get_searcher().snapshot
    today = config.today()
    found = []
    for notice in snap.notices:
        if (notice.get("audience") == "internal" and not internal) or not _active(notice, today):
            continue
        if office and notice.get("offices") and office not in notice["offices"]:
            continue
        found.append({
            "id": notice["id"], "title": notice["title"], "html": render_html(notice.get("body", "")),
            "valid_from": notice.get("valid_from"), "valid_until": notice.get("valid_until"),
            "offices": list(notice.get("offices") or []), "audience": notice.get("audience", "public"),
            "office_names": [snap.offices[k]["name"] for k in notice.get("offices") or [] if k in snap.offices],
        })
    return found


def areas() -> list[dict]:
    """The content areas (offices) with how many articles residents can read in each."""
    searcher = get_searcher()
    articles = searcher.snapshot.articles
    # Columns, not articles: this is the residents' start page, and a city may have 100 000 articles.
    offices = articles.columns["office"][articles.visible_rows("public", searcher.today())]
    counts = Counter(offices.tolist())
    return sorted(({"key": key, "name": office["name"], "description": office.get("description", ""),
                    "count": counts.get(key, 0)} for key, office in searcher.snapshot.offices.items()),
                  key=lambda area: area["name"].lower())


def area_articles(office: str) -> list[dict]:
    """The public articles of one office, Swedish first, by title."""
    searcher = get_searcher()
    articles = searcher.snapshot.articles
    rows = np.intersect1d(articles.visible_rows("public", searcher.today()), articles.rows_where(office=office))
    found = [{name: articles.columns[name][row] for name in ("id", "title", "language")} for row in rows.tolist()]
    found.sort(key=lambda a: (a["language"] != "sv", a["title"].lower()))
    return [dict(a, url=article_url(a["id"], False)) for a in found]


def results_view(result: SearchResult, internal: bool, answer_confidence: float, office: str | None = None) -> dict:
    """A result page: the best answer in full when confident, the other matches, and whom to contact."""
    searcher = get_searcher()
    hits = [dict(h.to_dict(), url=article_url(h.id, internal), snippet=_useful_snippet(h)) for h in result.hits]
    answer = None
    if hits and not result.low_confidence and result.confidence >= answer_confidence:
        article = searcher.article(hits[0]["id"], audience_of(internal))
        if article is not None:
            answer = article_view(article, internal)
            answer["office_card"] = offices.office_card(article.office, internal=internal)
    contact = None
    if result.query and (result.low_confidence or not hits):
        contact = offices.office_card(office or _likely_office(result)) or offices.contact_centre_card()
    return {"query": result.query, "hits": hits, "answer": answer, "others": hits[1:] if answer else hits,
            "low_confidence": result.low_confidence, "confidence": result.confidence, "contact": contact,
            "took_ms": round(result.took_ms, 1)}


def _useful_snippet(hit) -> str:
    """The hit's snippet, or the start of the answer when the snippet only repeats the question."""
    snap = get_searcher().snapshot
    article = snap.articles.get(hit.id)
    if article is None:
        return hit.snippet
    shown = html.unescape(re.sub(r"<[^>]+>", "", hit.snippet)).strip().rstrip(" …").lower()
    if shown in {article.title.lower(), *(q.lower() for q in article.alt_questions)}:
        return make_snippet(snap.plain_answer(article), set())
    return hit.snippet


def _likely_office(result: SearchResult) -> str | None:
    """The office of the best hit, when the hit is at least somewhat related to the question."""
    if result.hits and result.hits[0].confidence >= OFFICE_GUESS_CONFIDENCE:
        return result.hits[0].office
    return None


_HEADING = re.compile(r"<(/?)h([1-5])\b")


def demote_headings(html: str) -> str:
    """Shift the headings of an answer one level down, for answers shown under a page's own h2."""
    return Markup(_HEADING.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", str(html)))
