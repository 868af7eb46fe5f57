"""Draft articles from gap-queue groups: `kb gap draft` and the editors' "Skapa utkast" button.

A draft is `content/<office>/<slug>.md` with `draft: true`: never indexed, so nobody reads its
TODO text until an editor has written the answer, removed the marker and committed it.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from kb.schema import ID_PATTERN
from web.events.gaps import REDACTED_TOKEN, GapGroup, normalise

_QUESTION_WORDS = ("hur", "vad", "var", "när", "vem", "vilken", "vilket", "vilka", "varför", "kan", "får", "måste",
                   "ska", "behöver", "finns", "är", "har", "gäller")


class DraftError(ValueError):
    """A draft cannot be written; `code` is one of exists, id_taken, unknown_office, unknown_group."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def find_group(groups: list[GapGroup], group: str) -> GapGroup:
    """The group with this id; DraftError(unknown_group) when it is not (or no longer) in the queue."""
    for candidate in groups:
        if candidate.id == group:
            return candidate
    raise DraftError("unknown_group", f"no gap group {group!r} (answered already, or outside the filters?)")


def question_title(phrasing: str) -> str:
    """A phrasing as an article title: personal-data tokens out, capital first letter, '?' after a question."""
    text = re.sub(r"\s+", " ", REDACTED_TOKEN.sub(" ", phrasing)).strip().strip(",;:")
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if text.split(" ", 1)[0].lower() in _QUESTION_WORDS and text[-1] not in "?!.":
        text += "?"
    return text


def slugify(title: str, limit: int = 60) -> str:
    """An article id from a title: a-z, 0-9 and '-', å/ä → a, ö → o, cut at a word under `limit`."""
    text = title.lower().translate(str.maketrans("åäöéèüæø", "aaoeeuao"))
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug


def draft_text(group: GapGroup, office: str, owner: str | None) -> tuple[str, str]:
    """(article id, file text) of a draft for `group`: front matter filled in, a Swedish TODO body."""
    title = question_title(group.title) or group.title
    article_id = slugify(title) or f"fraga-{group.id}"
    seen = {normalise(title)}
    alternatives = []
    for phrasing, _count in group.examples[1:]:
        if REDACTED_TOKEN.search(phrasing) or normalise(phrasing) in seen:
            continue   # a phrasing with a redacted number in it is no question to publish
        seen.add(normalise(phrasing))
        alternatives.append(phrasing)
    meta = {"id": article_id, "title": title, "office": office}
    if owner:
        meta["owner"] = owner
    meta["draft"] = True
    if alternatives:
        meta["alt_questions"] = alternatives[:10]
    closest = ", ".join(f"{c['id']} ({c['confidence']:.2f})" for c in group.closest) or "inga"
    # YAML comments: the editor sees where the draft came from; nobody else ever does.
    header = (f"# Utkast från luckkön (grupp {group.id}): ställd {group.count} gånger på {group.days} dagar, "
              f"{group.first_seen.date().isoformat()} – {group.last_seen.date().isoformat()}.\n"
              f"# Närmaste artiklar när utkastet skrevs: {closest}.\n"
              "# Klart? Ta bort raden draft: true, kör kb lint och committa.\n")
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    body = ("TODO: Skriv svaret till invånaren här. Börja med det viktigaste, i korta meningar.\n\n"
            "TODO: Lägg till e-tjänster under links: och relaterade artiklar under related: i huvudet.\n\n"
            "::: intern\n"
            "TODO: Anteckningar som bara handläggare ska se. Ta bort blocket om det inte behövs.\n"
            ":::\n")
    return article_id, f"---\n{header}{front}---\n{body}"


def draft_article(group: GapGroup, content_dir, office: str, owner: str | None = None) -> Path:
    """Write content/<office>/<slug>.md for `group` (a draft: not indexed); never overwrites anything."""
    from kb.loader import load_content

    content_dir = Path(content_dir)
    if not ID_PATTERN.match(office or "") or not (content_dir / office / "_office.yaml").is_file():
        raise DraftError("unknown_office", f"no office {office!r} in {content_dir} (a folder with _office.yaml)")
    corpus = load_content(content_dir)
    known = corpus.offices.get(office)
    owner = owner or (known.owner if known else "") or None
    article_id, text = draft_text(group, office, owner)
    path = content_dir / office / f"{article_id}.md"
    if path.exists():
        raise DraftError("exists", f"{path} already exists; it was not changed")
    if article_id in corpus.articles:
        raise DraftError("id_taken", f"the id {article_id!r} is already used by {corpus.articles[article_id].path}")
    try:
        with open(path, "x", encoding="utf-8") as out:   # "x": two editors at once cannot overwrite each other
            out.write(text)
    except FileExistsError:
        raise DraftError("exists", f"{path} already exists; it was not changed") from None
    return path
