"""Typed content model: articles, offices, notices, and the problems found in them."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Any

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
AUDIENCES = ("public", "internal")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INTERNAL_OPEN = "::: intern"


@dataclass
class Issue:
    """One problem in the content, reported as `path:line: message`."""

    path: str
    line: int
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.line}: {prefix}{self.message}"


@dataclass
class Link:
    title: str
    url: str


@dataclass
class Article:
    """One question and its answer, as written in `content/<office>/<slug>.md`."""

    id: str
    title: str
    office: str
    body: str  # full Markdown, internal blocks included
    path: str = ""
    group: str = ""
    audience: str = "public"
    language: str = "sv"
    translation_of: str | None = None
    alt_questions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    owner: str = ""
    reviewed: dt.date | None = None
    review_every: int = 365
    valid_until: dt.date | None = None
    related: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    public_body: str = ""  # Markdown with internal blocks removed
    internal_notes: list[str] = field(default_factory=list)
    content_hash: str = ""
    draft: bool = False  # written by `kb gap draft`: not indexed until an editor removes `draft: true`

    @property
    def is_internal(self) -> bool:
        """True when the whole article is for handlers only."""
        return self.audience == "internal"

    def review_due(self) -> dt.date | None:
        """The date the article should next be reviewed, if it has ever been."""
        if self.reviewed is None:
            return None
        return self.reviewed + dt.timedelta(days=self.review_every)

    def is_expired(self, today: dt.date) -> bool:
        """True once `valid_until` has passed."""
        return self.valid_until is not None and today > self.valid_until

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of every field (dates as ISO strings)."""
        # Field by field rather than asdict(): a build writes every article, and asdict's
        # deep copy made this a second of a 10 000-article incremental build.
        data = {name: getattr(self, name) for name in article_fields()}
        for key in ("alt_questions", "tags", "related", "internal_notes"):
            data[key] = list(data[key])
        data["links"] = [{"title": link.title, "url": link.url} for link in self.links]
        for key in ("reviewed", "valid_until"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Article":
        """Inverse of `to_dict`."""
        data = dict(data)
        data.pop("plain", None)   # an index record's plain text of the answer (indexer/article_table.record)
        for key in ("reviewed", "valid_until"):
            if data.get(key):
                data[key] = dt.date.fromisoformat(data[key])
        data["links"] = [Link(**link) for link in data.get("links", [])]
        # An index record leaves out `body` when it equals `public_body` (see to_record): one string, not two.
        if "body" not in data:
            data["body"] = data.get("public_body", "")
        return cls(**data)

    def to_record(self) -> dict[str, Any]:
        """`to_dict` as the index stores it: `body` only when it differs from `public_body` (internal blocks).

        Most articles have no internal block, and the two copies were 45 % of articles.jsonl and of the
        serving process's article texts at 100 000 articles; from_dict restores `body`.
        """
        data = self.to_dict()
        if data["body"] == data["public_body"]:
            del data["body"]
        return data


@dataclass
class Office:
    """An office (assignment) from `content/<office>/_office.yaml`."""

    key: str
    name: str
    description: str = ""
    group: str = ""
    phone: str = ""
    email: str = ""
    web: str = ""
    hours: dict[str, str] = field(default_factory=dict)
    summer: dict[str, Any] | None = None
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    referral: str = ""
    owner: str = ""  # default owner of new articles (drafts from the gap queue)
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of every field."""
        data = asdict(self)
        data["exceptions"] = [
            {**e, "date": e["date"].isoformat() if isinstance(e.get("date"), dt.date) else e.get("date")}
            for e in self.exceptions
        ]
        return data


@dataclass
class Notice:
    """A disruption or temporary notice from `content/_notices/*.md`."""

    id: str
    title: str
    body: str
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    offices: list[str] = field(default_factory=list)
    audience: str = "public"
    path: str = ""

    def is_active(self, today: dt.date) -> bool:
        """True when today lies within the notice's validity."""
        if self.valid_from and today < self.valid_from:
            return False
        return not (self.valid_until and today > self.valid_until)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of every field."""
        data = asdict(self)
        for key in ("valid_from", "valid_until"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data


# Field name -> (expected python type(s), required). Used by the loader to
# report unknown, missing and mistyped fields with the line they are on.
ARTICLE_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((str,), True),
    "title": ((str,), True),
    "office": ((str,), True),
    "group": ((str,), False),
    "audience": ((str,), False),
    "language": ((str,), False),
    "translation_of": ((str,), False),
    "alt_questions": ((list,), False),
    "tags": ((list,), False),
    "owner": ((str,), False),
    "reviewed": ((dt.date, str), False),
    "review_every": ((int,), False),
    "valid_until": ((dt.date, str), False),
    "related": ((list,), False),
    "links": ((list,), False),
    "draft": ((bool,), False),
}

OFFICE_FIELDS = {
    "name", "description", "group", "phone", "email", "web", "hours", "summer", "exceptions", "referral",
    "owner",
}

NOTICE_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((str,), True),
    "title": ((str,), True),
    "valid_from": ((dt.date, str), False),
    "valid_until": ((dt.date, str), False),
    "offices": ((list,), False),
    "audience": ((str,), False),
}



@lru_cache(maxsize=1)
def article_fields() -> tuple[str, ...]:
    """Article's field names (dataclasses.fields() rebuilds the list on every call)."""
    return tuple(f.name for f in fields(Article))