"""Load the content folder into typed objects, collecting every problem with file and line.

A broken file is reported and skipped; everything else is still loaded.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kb.markdown import split_internal
from kb.parse_cache import ParseCache, shallow_copy
from kb.schema import (
    ARTICLE_FIELDS, AUDIENCES, ID_PATTERN, NOTICE_FIELDS, OFFICE_FIELDS, WEEKDAYS,
    Article, Issue, Link, Notice, Office,
)


@dataclass
class Corpus:
    """Everything loaded from one content folder."""

    articles: dict[str, Article] = field(default_factory=dict)
    offices: dict[str, Office] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    synonyms: list[list[str]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    # Which file gave which article and issues: what patching the corpus after an edit needs.
    ledger: "_Ledger | None" = field(default=None, compare=False, repr=False)

    @property
    def errors(self) -> list[Issue]:
        """Problems that make a file unusable or wrong."""
        return [i for i in self.issues if i.severity == "error"]


@dataclass
class _Ledger:
    """Where a load's issues came from, in order: before the article files, per file, per article's references."""

    today: dt.date
    head: list[Issue]
    files: dict[str, tuple[str | None, list[Issue]]]    # rel path → (id of the article it gave, its issues)
    references: dict[str, list[Issue]]                  # article id → problems with the ids it names
    tail: list[Issue]

    def issues(self, articles: dict[str, Article]) -> list[Issue]:
        """Every issue, in the order a load of the whole folder reports them."""
        found = list(self.head)
        for _article_id, issues in self.files.values():
            found += issues
        for article_id in articles:
            found += self.references.get(article_id, ())
        return found + self.tail


class _FileProblem(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def _key_lines(text: str, first_line: int) -> dict[str, int]:
    """Map each top-level YAML key to its 1-based line in the file."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            lines[str(key_node.value)] = first_line + key_node.start_mark.line
    return lines


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so that an impossible date is reported with its line."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_yaml(text: str, first_line: int) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = first_line + mark.line if mark else first_line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _FileProblem(line, f"malformed YAML: {problem}") from None


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Return (front matter YAML, body, line where the body starts)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise _FileProblem(1, "missing front matter: the file must start with a '---' line")
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1:]), index + 2
    raise _FileProblem(1, "front matter is not closed with a '---' line")


def _as_date(value: Any, name: str, line: int) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _FileProblem(line, f"invalid date in '{name}': {value!r} (use YYYY-MM-DD)") from None


def _check_fields(meta: dict, spec: dict, lines: dict[str, int], what: str) -> None:
    for name in meta:
        if name not in spec:
            known = ", ".join(spec)
            raise _FileProblem(lines.get(str(name), 1), f"unknown field '{name}' in {what} (known: {known})")
    for name, (types, required) in spec.items():
        value = meta.get(name)
        if value is None or value == "":
            if required:
                raise _FileProblem(1, f"missing required field '{name}'")
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            wanted = " or ".join(t.__name__ for t in types)
            raise _FileProblem(lines.get(name, 1), f"field '{name}' must be {wanted}, got {type(value).__name__}")


def _string_list(meta: dict, name: str, lines: dict[str, int]) -> list[str]:
    values = meta.get(name) or []
    for value in values:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise _FileProblem(lines.get(name, 1), f"every item of '{name}' must be text")
    return [str(v).strip() for v in values if str(v).strip()]


def parse_article(path: Path, text: str, office_key: str, rel: str,
                  today: dt.date | None = None) -> tuple[Article, list[Issue]]:
    """Parse one article file; raises _FileProblem for problems that make it unusable."""
    article, warnings, reviewed_line = _parse_article(path, text, office_key, rel)
    return article, warnings + _overdue(article, reviewed_line, today)


def _overdue(article: Article, reviewed_line: int, today: dt.date | None) -> list[Issue]:
    """The overdue-review warning, apart from parsing: it depends on the date, the parse does not."""
    due = article.review_due()
    if today is None or due is None or due >= today:
        return []
    return [Issue(article.path, reviewed_line,
                  f"review overdue since {due.isoformat()} (owner: {article.owner or 'none'})", "warning")]


def _parse_article(path: Path, text: str, office_key: str, rel: str) -> tuple[Article, list[Issue], int]:
    """Article, date-independent warnings and the line of `reviewed`; raises _FileProblem."""
    front, body, body_line = split_front_matter(text)
    meta = _parse_yaml(front, 2)
    if not isinstance(meta, dict):
        raise _FileProblem(2, "front matter must be a YAML mapping of field: value")
    lines = _key_lines(front, 2)
    _check_fields(meta, ARTICLE_FIELDS, lines, "article")
    warnings: list[Issue] = []
    article_id = str(meta["id"]).strip()
    if not ID_PATTERN.match(article_id):
        raise _FileProblem(lines.get("id", 2), f"invalid id {article_id!r}: use lower-case letters, digits and '-'")
    if meta["office"] != office_key:
        raise _FileProblem(lines.get("office", 2),
                           f"office '{meta['office']}' does not match the folder '{office_key}'")
    audience = meta.get("audience") or "public"
    if audience not in AUDIENCES:
        raise _FileProblem(lines.get("audience", 2), f"audience must be one of {', '.join(AUDIENCES)}, got {audience!r}")
    language = str(meta.get("language") or "sv").lower()
    translation_of = meta.get("translation_of")
    review_every = meta.get("review_every", 365)
    if review_every is not None and review_every <= 0:
        raise _FileProblem(lines.get("review_every", 2), "review_every must be a positive number of days")
    links = []
    for item in meta.get("links") or []:
        if not isinstance(item, dict) or not item.get("url") or not str(item.get("url")).startswith(("https://", "http://")):
            raise _FileProblem(lines.get("links", 2), "each link needs a 'title' and an http(s) 'url'")
        links.append(Link(title=str(item.get("title") or item["url"]), url=str(item["url"])))
    split = split_internal(body)
    if split.unclosed_line is not None:
        warnings.append(Issue(rel, body_line + split.unclosed_line - 1,
                              "'::: intern' block is not closed with ':::' (kept internal to the end of the file)",
                              "warning"))
    if not split.public.strip() and audience == "public":
        warnings.append(Issue(rel, body_line, "public article has no public answer text", "warning"))
    draft = bool(meta.get("draft"))
    if draft:
        warnings.append(Issue(rel, lines.get("draft", 2), "draft: not indexed, nobody sees it until "
                                                          "'draft: true' is removed", "warning"))
    else:
        todo = next((n for n, line in enumerate(body.splitlines()) if line.lstrip().startswith("TODO")), None)
        if todo is not None:   # a finished draft must not show its TODO text to residents
            warnings.append(Issue(rel, body_line + todo, "TODO text left from the draft", "warning"))
    body = body.strip()
    article = Article(
        id=article_id,
        title=str(meta["title"]).strip(),
        office=office_key,
        body=body,
        path=rel,
        # Interned: the few values shared by many articles are then one object each in the parse
        # cache's pickle too (a fresh `kb index` made 100 000 of each when it read the cache).
        group=sys.intern(str(meta.get("group") or "")),
        audience=sys.intern(audience),
        language=sys.intern(language),
        translation_of=str(translation_of) if translation_of else None,
        alt_questions=_string_list(meta, "alt_questions", lines),
        tags=[sys.intern(tag) for tag in _string_list(meta, "tags", lines)],
        owner=sys.intern(str(meta.get("owner") or "")),
        reviewed=_as_date(meta.get("reviewed"), "reviewed", lines.get("reviewed", 2)),
        review_every=int(review_every or 365),
        valid_until=_as_date(meta.get("valid_until"), "valid_until", lines.get("valid_until", 2)),
        related=_string_list(meta, "related", lines),
        links=links,
        # Most articles have no internal block: one string for both, so the parse cache (a pickle
        # keeps a shared object once) and a watcher's memory hold each answer once, not twice.
        public_body=body if split.public == body else split.public,
        internal_notes=split.internal,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        draft=draft,
    )
    return article, warnings, lines.get("reviewed", 2)


def _hours_problem(value: Any) -> bool:
    if value in (None, "closed"):
        return False
    parts = str(value).split("-")
    if len(parts) != 2:
        return True
    try:
        start, end = (dt.time.fromisoformat(p.strip().zfill(5)) for p in parts)
    except ValueError:
        return True
    return start >= end


def parse_office(path: Path, text: str, key: str, rel: str) -> Office:
    """Parse one `_office.yaml`; raises _FileProblem when it is unusable."""
    meta = _parse_yaml(text, 1)
    if not isinstance(meta, dict):
        raise _FileProblem(1, "_office.yaml must be a YAML mapping")
    lines = _key_lines(text, 1)
    for name in meta:
        if name not in OFFICE_FIELDS:
            raise _FileProblem(lines.get(str(name), 1),
                               f"unknown field '{name}' in office (known: {', '.join(sorted(OFFICE_FIELDS))})")
    if not meta.get("name"):
        raise _FileProblem(1, "missing required field 'name'")
    if meta.get("web") and not str(meta["web"]).startswith(("https://", "http://")):
        raise _FileProblem(lines.get("web", 1), "web must be an http(s) URL")   # it becomes a link on every page
    hour_tables = [("hours", meta.get("hours") or {})]
    summer = meta.get("summer")
    if summer is not None:
        if not isinstance(summer, dict) or not {"from", "until"} <= set(summer):
            raise _FileProblem(lines.get("summer", 1), "summer needs 'from' and 'until' (MM-DD) and 'hours'")
        for part in ("from", "until"):
            try:
                dt.date.fromisoformat(f"2000-{summer[part]}")
            except (TypeError, ValueError):
                raise _FileProblem(lines.get("summer", 1), f"summer '{part}' must be MM-DD, got {summer[part]!r}") from None
        hour_tables.append(("summer hours", summer.get("hours") or {}))
    for label, table in hour_tables:
        if not isinstance(table, dict):
            raise _FileProblem(lines.get("hours", 1), f"{label} must map weekdays to 'HH:MM-HH:MM'")
        for day, value in table.items():
            if day not in WEEKDAYS:
                raise _FileProblem(lines.get("hours", 1), f"unknown weekday '{day}' in {label} (use {', '.join(WEEKDAYS)})")
            if _hours_problem(value):
                raise _FileProblem(lines.get("hours", 1), f"invalid {label} for {day}: {value!r} (use HH:MM-HH:MM or closed)")
    exceptions = []
    if not isinstance(meta.get("exceptions") or [], list):
        raise _FileProblem(lines.get("exceptions", 1), "exceptions must be a list of {date, hours, note}")
    for item in meta.get("exceptions") or []:
        if not isinstance(item, dict) or "date" not in item:
            raise _FileProblem(lines.get("exceptions", 1), "each exception needs a 'date' and 'hours'")
        date = _as_date(item["date"], "exceptions", lines.get("exceptions", 1))
        if _hours_problem(item.get("hours", "closed")):
            raise _FileProblem(lines.get("exceptions", 1), f"invalid hours for {date}: {item.get('hours')!r}")
        exceptions.append({"date": date, "hours": item.get("hours", "closed"), "note": str(item.get("note") or "")})
    return Office(
        key=key, name=str(meta["name"]), description=str(meta.get("description") or ""),
        group=str(meta.get("group") or meta["name"]), phone=str(meta.get("phone") or ""),
        email=str(meta.get("email") or ""), web=str(meta.get("web") or ""),
        hours={d: str(v) for d, v in (meta.get("hours") or {}).items()}, summer=summer,
        exceptions=exceptions, referral=str(meta.get("referral") or ""), owner=str(meta.get("owner") or ""), path=rel,
    )


def parse_notice(path: Path, text: str, rel: str) -> Notice:
    """Parse one notice file; raises _FileProblem when it is unusable."""
    front, body, _ = split_front_matter(text)
    meta = _parse_yaml(front, 2)
    if not isinstance(meta, dict):
        raise _FileProblem(2, "front matter must be a YAML mapping")
    lines = _key_lines(front, 2)
    _check_fields(meta, NOTICE_FIELDS, lines, "notice")
    audience = meta.get("audience") or "public"
    if audience not in AUDIENCES:
        raise _FileProblem(lines.get("audience", 2), f"audience must be one of {', '.join(AUDIENCES)}")
    return Notice(
        id=str(meta["id"]), title=str(meta["title"]), body=body.strip(),
        valid_from=_as_date(meta.get("valid_from"), "valid_from", lines.get("valid_from", 2)),
        valid_until=_as_date(meta.get("valid_until"), "valid_until", lines.get("valid_until", 2)),
        offices=_string_list(meta, "offices", lines), audience=audience, path=rel,
    )


def _read(path: Path, rel: str, issues: list[Issue]) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        issues.append(Issue(rel, 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
    except OSError as exc:
        issues.append(Issue(rel, 1, f"cannot read file: {exc.strerror}"))
    return None


def load_content(content_dir: str | Path, today: dt.date | None = None, cache: ParseCache | None = None) -> Corpus:
    """Load and validate a content folder; every problem becomes an Issue, broken files are skipped.

    With a `cache` (kb/parse_cache.py), article files unchanged since it was filled are not parsed again;
    when the cache names the changed paths (`kb index --watch`), an edit is patched into its last corpus.
    """
    root = Path(content_dir)
    today = today or dt.date.today()
    corpus = Corpus()
    if not root.is_dir():
        corpus.issues.append(Issue(str(root), 0, "content folder does not exist"))
        return corpus

    if cache is not None and cache.changed is not None:   # before anything is read: a patch reads only the edits
        patched = _patched(cache.corpus, root, cache.changed, today, cache)
        if patched is not None:
            cache.corpus = patched
            return patched

    def rel(p: Path) -> str:
        return str(p.relative_to(root.parent)) if root.parent != p else str(p)

    _load_synonyms(root / "_synonyms.yaml", rel, corpus)
    for path in sorted((root / "_notices").glob("*.md")) if (root / "_notices").is_dir() else []:
        text = _read(path, rel(path), corpus.issues)
        if text is None:
            continue
        try:
            corpus.notices.append(parse_notice(path, text, rel(path)))
        except _FileProblem as problem:
            corpus.issues.append(Issue(rel(path), problem.line, problem.message))

    office_dirs = _load_offices(root, rel, corpus, cache)
    first_seen: dict[str, str] = {}
    seen: set[str] = {rel(d / "_office.yaml") for d in office_dirs}
    head, files = list(corpus.issues), {}
    for office_dir in office_dirs:
        # Names as strings: Path sorting and relative_to cost more than parsing a cached corpus.
        prefix = rel(office_dir) + os.sep
        # Full paths as strings too: a Path per file (made, then turned back into a string to stat
        # it) was 2.7 s of the 5.9 s spent here on a 100 000-article corpus.
        entries = sorted((e.name, e.path) for e in os.scandir(office_dir) if e.name.endswith(".md") and e.is_file())
        office = corpus.offices.get(office_dir.name)
        for name, path in entries:
            file_rel = prefix + name
            seen.add(file_rel)
            if cache is not None and office is not None:   # most files: cached, and nothing to report
                article = cache.unchanged_article(file_rel, path, office.group)
                if article is not None and article.id not in first_seen:
                    first_seen[article.id] = file_rel
                    corpus.articles[article.id] = article
                    files[file_rel] = (article.id, ())
                    continue
            before = len(corpus.issues)
            article_id = _load_article(path, office_dir.name, file_rel, corpus, first_seen, today, cache)
            files[file_rel] = (article_id, corpus.issues[before:])
    if cache is not None:
        cache.keep_only(seen)
    references = _check_references(corpus)
    tail = [Issue(notice.path, 1, f"notice names unknown office '{key}'")
            for notice in corpus.notices for key in notice.offices if key not in corpus.offices]
    corpus.ledger = _Ledger(today, head, files, references, tail)
    corpus.issues = corpus.ledger.issues(corpus.articles)
    if cache is not None:
        cache.corpus = corpus
    return corpus


def _patched(previous: Corpus | None, root: Path, changed: set[str], today: dt.date,
             cache: ParseCache) -> Corpus | None:
    """The previous load with the changed article files parsed again, or None where only a whole load will do.

    For `kb index --watch` (which hears of every change, indexer/watch.py): at 100 000 articles a
    load from the parse cache still visits every file (1.5-2 s); an edit that keeps the article's
    id touches one. Anything else (a file added, removed, broken or given another id, an office
    file, synonyms, notices, a folder, another day) loads the whole folder.
    """
    ledger = previous.ledger if previous is not None else None
    if ledger is None or ledger.today != today or not changed:
        return None
    files, articles = dict(ledger.files), dict(previous.articles)
    for rel in sorted(changed):
        article_id = files.get(rel, (None,))[0]
        path = root.parent / rel
        if article_id is None or not path.is_file():
            return None
        # The whole load's own step, on a scratch corpus: same parse, warnings and answer group.
        scratch = Corpus(offices=previous.offices)
        _load_article(str(path), Path(rel).parent.name, rel, scratch, {}, today, cache)
        if list(scratch.articles) != [article_id]:
            return None
        articles[article_id] = scratch.articles[article_id]
        files[rel] = (article_id, scratch.issues)
    corpus = Corpus(articles=articles, offices=previous.offices, notices=previous.notices,
                    synonyms=previous.synonyms)
    # The set of ids is unchanged: only the edited articles' own references can have changed.
    references = dict(ledger.references)
    for rel in changed:
        article_id = files[rel][0]
        references.pop(article_id, None)
        references.update(_check_references(corpus, [article_id]))
    corpus.ledger = _Ledger(today, ledger.head, files, references, ledger.tail)
    corpus.issues = corpus.ledger.issues(corpus.articles)
    return corpus


def _parse_office_file(path: Path, key: str, rel: str):
    """The Office of one _office.yaml, or the Issue that makes it unusable."""
    issues: list[Issue] = []
    text = _read(path, rel, issues)
    if text is None:
        return issues[0]
    try:
        return parse_office(path, text, key, rel)
    except _FileProblem as problem:
        return Issue(rel, problem.line, problem.message)


def _load_offices(root: Path, rel, corpus: Corpus, cache: ParseCache | None = None) -> list[Path]:
    """Parse every office folder's _office.yaml into the corpus; returns the office folders."""
    office_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(("_", "."))]
    for office_dir in office_dirs:
        office_file = office_dir / "_office.yaml"
        stamp = cache.stamp(office_file) if cache is not None else None
        if stamp is None and (cache is not None or not office_file.exists()):
            continue
        result = cache.get(rel(office_file), stamp) if cache is not None else None
        if result is None:
            result = _parse_office_file(office_file, office_dir.name, rel(office_file))
            if cache is not None:
                cache.put(rel(office_file), stamp, result)
        if isinstance(result, Issue):
            corpus.issues.append(result)
        else:
            corpus.offices[office_dir.name] = result
    return office_dirs


def load_offices(content_dir: str | Path) -> dict[str, Office]:
    """Only the offices of a content folder (no articles read): for commands that just check an office key."""
    root = Path(content_dir)
    corpus = Corpus()
    if root.is_dir():
        _load_offices(root, lambda p: str(p.relative_to(root.parent)), corpus)
    return corpus.offices


def _parse_article_file(path: Path, office_key: str, rel: str):
    """(Article, warnings, line of `reviewed`) of one file, or the Issue that makes it unusable."""
    issues: list[Issue] = []
    text = _read(path, rel, issues)
    if text is None:
        return issues[0]
    try:
        return _parse_article(path, text, office_key, rel)
    except _FileProblem as problem:
        return Issue(rel, problem.line, problem.message)


def _load_article(path: str, office_key: str, rel: str, corpus: Corpus, first_seen: dict[str, str],
                  today: dt.date, cache: ParseCache | None = None) -> str | None:
    """Load one article file into the corpus; returns the id of the article it gave (None: skipped)."""
    stamp = cache.stamp_of(rel, path) if cache is not None else None
    result = cache.get(rel, stamp) if cache is not None else None
    if result is None:
        result = _parse_article_file(Path(path), office_key, rel)
        if cache is not None:
            result = cache.put(rel, stamp, result)
    if isinstance(result, Issue):
        corpus.issues.append(result)
        return
    article, warnings, reviewed_line = result
    corpus.issues.extend(warnings)
    if article.reviewed is not None:   # most articles never were: no call for them
        corpus.issues.extend(_overdue(article, reviewed_line, today))
    if office_key not in corpus.offices:
        corpus.issues.append(Issue(rel, 1, f"unknown office '{office_key}': add content/{office_key}/_office.yaml"))
        return
    if article.id in first_seen:
        corpus.issues.append(Issue(rel, 2, f"duplicate id '{article.id}' (already used in {first_seen[article.id]})"))
        return
    first_seen[article.id] = rel
    if cache is not None:   # a cached article is shared: the cache knows when it may be changed
        article = cache.with_office_group(rel, article, corpus.offices[office_key].group)
    elif not article.group:
        article.group = corpus.offices[office_key].group
    corpus.articles[article.id] = article
    return article.id


def _check_references(corpus: Corpus, only: list[str] | None = None) -> dict[str, list[Issue]]:
    """Per article (of `only`, or all) the problems with the ids it names; drops the dangling ones."""
    found: dict[str, list[Issue]] = {}
    articles = corpus.articles
    for article_id in only if only is not None else list(articles):
        article, issues = articles[article_id], []
        if article.related or article.translation_of:   # most articles name no other id
            issues = [Issue(article.path, 1, f"related id '{ref}' does not exist")
                      for ref in article.related if ref not in articles]
            dangling = bool(article.translation_of) and article.translation_of not in articles
            if dangling:
                issues.append(Issue(article.path, 1, f"translation_of id '{article.translation_of}' does not exist"))
            # Drop dangling references so that the rest of the system can trust them (on a copy: a cached
            # article is shared with the parse cache, and the next load must see the file's own references).
            related = [ref for ref in article.related if ref in articles]
            if len(related) != len(article.related) or dangling:
                article = articles[article_id] = shallow_copy(article)
                article.related = related
                if dangling:
                    article.translation_of = None
        if article.language != "sv" and not article.translation_of:
            issues.append(Issue(article.path, 1, f"language '{article.language}' article without translation_of",
                                "warning"))
        if issues:
            found[article_id] = issues
    return found


def _load_synonyms(path: Path, rel, corpus: Corpus) -> None:
    if not path.exists():
        return
    text = _read(path, rel(path), corpus.issues)
    if text is None:
        return
    try:
        data = _parse_yaml(text, 1)
    except _FileProblem as problem:
        corpus.issues.append(Issue(rel(path), problem.line, problem.message))
        return
    if not isinstance(data, list):
        corpus.issues.append(Issue(rel(path), 1, "_synonyms.yaml must be a list of word lists"))
        return
    node = yaml.compose(text)
    item_lines = [n.start_mark.line + 1 for n in node.value] if isinstance(node, yaml.SequenceNode) else []
    for number, group in enumerate(data, start=1):
        line = item_lines[number - 1] if number <= len(item_lines) else 1
        if not isinstance(group, list) or len(group) < 2:
            corpus.issues.append(Issue(rel(path), line, "a synonym group must be a list of at least two words"))
            continue
        corpus.synonyms.append([str(word).strip().lower() for word in group if str(word).strip()])
