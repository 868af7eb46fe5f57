"""The gap queue: questions the knowledge bank does not answer, grouped by meaning (drafts: drafts.py).

Candidates are recorded searches that found nothing or nothing confident, and handlers' "saknat
svar" reports. As-you-type searches are collapsed to the last of a burst, the redacted queries
are embedded in one batch and clustered, and each group is checked against the current index:
a group whose questions now get a confident answer is answered and left out.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from kb.hours import STOCKHOLM
from web.events import tables

# A live (as-you-type) search is superseded by a later search of the same channel within this many
# seconds that starts with it: "par", "park", "parkering" are one question, not three.
BURST_SECONDS = 10
# Complete linkage: every two phrasings in a group have at least this cosine (e5-small, "query: "
# prefix). Measured on 22 hand-made groups of realistic Swedish paraphrases (82 queries, 2026-11):
# at 0.86 pairs put together are right 87 % of the time and 67 % of the true pairs are found; at
# 0.85 precision falls to 84 %, at 0.87 recall to 63 %. e5-small puts topic neighbours ("hemtjänst"
# vs "försörjningsstöd") around 0.85-0.89, so the line sits on the side of splitting: two groups
# for one question cost an editor less than one group hiding another question.
SAME_QUESTION_COSINE = 0.86
CLUSTER_LIMIT = 2000    # phrasings clustered together (O(n²) memory); rarer ones are joined to the nearest group
RECHECK_PHRASINGS = 3   # a group's most common phrasings re-run to see whether it is answered now
CLOSEST = 3
# What kb/redact.py leaves in place of personal data.
REDACTED_TOKEN = re.compile(r"\[(?:personnummer|telefon|e-post|adress|nummer)\]")
_VECTORS: dict[tuple[str, str], np.ndarray] = {}   # (model fingerprint, phrasing) -> embedding
_VECTORS_MAX = 50_000
_vectors_lock = threading.Lock()
_RESULTS: dict[tuple, object] = {}   # (index version, today, audience, k, phrasing) -> SearchResult
_RESULTS_MAX = 20_000


@dataclass
class Candidate:
    """One unanswered question: a search event or a missing-answer report."""

    at: dt.datetime            # naive UTC, as stored
    channel: str
    source: str                # page | live | api | report
    office: str | None
    query: str                 # redacted


@dataclass
class GapGroup:
    """Candidate questions that mean the same, with what an editor needs to answer them."""

    id: str
    title: str
    examples: list[tuple[str, int]]     # phrasings with how often each was asked, most common first
    count: int
    days: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    offices: list[str]                  # office filters used, most common first, else the closest article's
    channels: list[str]
    closest: list[dict] = field(default_factory=list)   # id, title, office, confidence
    reports: int = 0                    # of `count`, how many came from "saknat svar"

    def to_dict(self) -> dict:
        """JSON-friendly form (`kb gap list --json`)."""
        return {"id": self.id, "title": self.title, "count": self.count, "days": self.days,
                "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat(),
                "offices": self.offices, "channels": self.channels, "reports": self.reports,
                "examples": [{"query": q, "count": n} for q, n in self.examples], "closest": self.closest}


def normalise(query: str) -> str:
    """The form phrasings are compared in: lower case, single spaces, no trailing punctuation."""
    return re.sub(r"\s+", " ", query or "").strip().strip("?!.,;: ").lower()


def _as_datetime(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())


def load_candidates(engine, *, since=None, until=None) -> list[Candidate]:
    """Searches without a confident answer and missing-answer reports in [since, until), live bursts collapsed."""
    since, until = _as_datetime(since), _as_datetime(until)
    events = tables.search_events
    columns = select(events.c.created_at, events.c.channel, events.c.source, events.c.office, events.c.query,
                     events.c.hit_count, events.c.low_confidence)
    if since is not None:
        columns = columns.where(events.c.created_at >= since)
    if until is not None:   # a little past the end: a burst ending just after it still collapses
        columns = columns.where(events.c.created_at < until + dt.timedelta(seconds=BURST_SECONDS))
    reports = tables.missing_reports
    report_query = select(reports.c.created_at, reports.c.channel, reports.c.office, reports.c.question)
    if since is not None:
        report_query = report_query.where(reports.c.created_at >= since)
    if until is not None:
        report_query = report_query.where(reports.c.created_at < until)
    with engine.connect() as conn:
        rows = conn.execute(columns.order_by(events.c.created_at, events.c.id)).all()
        report_rows = conn.execute(report_query).all()
    kept = collapse_bursts(rows)
    found = [Candidate(r.created_at, r.channel, r.source, r.office, r.query) for r in kept
             if (r.hit_count == 0 or r.low_confidence) and (until is None or r.created_at < until)]
    found += [Candidate(r.created_at, r.channel, "report", r.office, r.question) for r in report_rows]
    return found


def collapse_bursts(rows) -> list:
    """Rows (time-ordered) without the live searches a later search of the same channel extends within seconds."""
    by_channel: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        by_channel.setdefault(row.channel, []).append(index)
    dropped: set[int] = set()
    window = dt.timedelta(seconds=BURST_SECONDS)
    for indexes in by_channel.values():
        for position, index in enumerate(indexes):
            row = rows[index]
            if row.source != "live":
                continue
            typed = normalise(row.query)
            for later in indexes[position + 1:]:
                other = rows[later]
                if other.created_at - row.created_at > window:
                    break
                if other.source in ("live", "page") and normalise(other.query).startswith(typed):
                    dropped.add(index)
                    break
    return [row for index, row in enumerate(rows) if index not in dropped]


def embed(encoder, phrasings: list[str]) -> np.ndarray:
    """Query embeddings of `phrasings`: cached ones reused, the rest in one batch."""
    key = encoder.fingerprint()
    missing = [p for p in dict.fromkeys(phrasings) if (key, p) not in _VECTORS]
    if missing:
        vectors = encoder.encode_queries(missing)
        with _vectors_lock:
            if len(_VECTORS) + len(missing) > _VECTORS_MAX:
                _VECTORS.clear()
            _VECTORS.update({(key, p): v for p, v in zip(missing, vectors)})
    if not phrasings:
        return np.zeros((0, encoder.dimension), dtype=np.float32)
    return np.stack([_VECTORS[(key, p)] for p in phrasings])


def cluster(vectors: np.ndarray, threshold: float = SAME_QUESTION_COSINE) -> list[int]:
    """A cluster label per vector: complete linkage, every pair in a cluster at least `threshold` cosine."""
    count = len(vectors)
    if count == 0:
        return []
    if count == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    head = min(count, CLUSTER_LIMIT)
    tree = linkage(pdist(vectors[:head].astype(np.float64), "cosine"), "complete")
    labels = [int(label) for label in fcluster(tree, 1.0 - threshold, "distance")]
    if count > head:   # rare phrasings: the closest member's cluster, or their own
        sims = vectors[head:] @ vectors[:head].T
        next_label = max(labels) + 1
        for row in sims:
            best = int(np.argmax(row))
            if row[best] >= threshold:
                labels.append(labels[best])
            else:
                labels.append(next_label)
                next_label += 1
    return labels


def group_id(phrasing: str) -> str:
    """A short stable id: the same most common phrasing gives the same id on every call."""
    return hashlib.sha256(normalise(phrasing).encode("utf-8")).hexdigest()[:10]


def gap_groups(engine, searcher, *, office: str | None = None, since=None, until=None,
               include_answered: bool = False) -> list[GapGroup]:
    """The gap queue: unanswered questions grouped by meaning, most asked first (`until` is exclusive)."""
    candidates = load_candidates(engine, since=since, until=until)
    by_phrase: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        key = normalise(candidate.query)
        if key and REDACTED_TOKEN.sub("", key).strip():   # a query that was nothing but personal data says nothing
            by_phrase.setdefault(key, []).append(candidate)
    # Most asked first, so the clustering of a long tail never reorders the common questions.
    phrases = sorted(by_phrase, key=lambda p: (-len(by_phrase[p]), p))
    vectors = embed(searcher.encoder, phrases)
    vector_of = dict(zip(phrases, vectors))
    members: dict[int, list[int]] = {}
    for index, label in enumerate(cluster(vectors)):
        members.setdefault(label, []).append(index)
    groups = []
    for indexes in members.values():
        group = _make_group([phrases[i] for i in indexes], by_phrase)
        answered = _closest_and_answered(group, vector_of, searcher, by_phrase)
        if answered and not include_answered:
            continue
        if office is not None and office not in group.offices:
            continue
        groups.append(group)
    groups.sort(key=lambda g: (-g.count, -g.days, -g.last_seen.timestamp(), g.id))
    return groups


def _make_group(keys: list[str], by_phrase: dict[str, list[Candidate]]) -> GapGroup:
    items = [c for key in keys for c in by_phrase[key]]
    keys = sorted(keys, key=lambda k: (-len(by_phrase[k]), k))
    examples = [(Counter(c.query.strip() for c in by_phrase[k]).most_common(1)[0][0], len(by_phrase[k]))
                for k in keys]
    offices = [o for o, _ in Counter(c.office for c in items if c.office).most_common()]
    return GapGroup(
        id=group_id(keys[0]), title=examples[0][0], examples=examples, count=len(items),
        days=len({c.at.replace(tzinfo=dt.timezone.utc).astimezone(STOCKHOLM).date() for c in items}),
        first_seen=min(c.at for c in items), last_seen=max(c.at for c in items), offices=offices,
        channels=sorted({c.channel for c in items}), reports=sum(c.source == "report" for c in items))


def _closest_and_answered(group: GapGroup, vector_of: dict, searcher, by_phrase) -> bool:
    """Fill in the closest articles; True when the group's questions now get a confident answer."""
    keys = sorted({normalise(q) for q, _ in group.examples}, key=lambda k: (-len(by_phrase[k]), k))
    closest = _search(searcher, keys[0], "internal", CLOSEST, vector_of[keys[0]])
    group.closest = [{"id": h.id, "title": h.title, "office": h.office, "confidence": h.confidence}
                     for h in closest.hits]
    if not group.offices and closest.hits:
        group.offices = [closest.hits[0].office]
    # Residents see public articles only: their questions are answered when a public article answers them.
    audience = "public" if "resident" in group.channels else "internal"
    answered = asked = 0
    for key in keys[:RECHECK_PHRASINGS]:
        weight = len(by_phrase[key])
        if audience == "internal" and key == keys[0]:
            result = closest
        else:
            result = _search(searcher, key, audience, 1, vector_of[key])
        asked += weight
        answered += 0 if result.low_confidence else weight
    # Answered when most of the asking (by count) now finds a confident answer.
    return answered * 2 >= asked


def _search(searcher, phrasing: str, audience: str, k: int, vector):
    """Searcher.search with the batch's vector, remembered per index version (a reload of the page is cheap)."""
    searcher.refresh()
    key = (searcher.snapshot.version, searcher.today(), audience, k, phrasing)
    result = _RESULTS.get(key)
    if result is None:
        result = searcher.search(phrasing, audience=audience, k=k, query_vector=vector)
        if len(_RESULTS) >= _RESULTS_MAX:
            _RESULTS.clear()
        _RESULTS[key] = result
    return result


def report_gaps(searcher):
    """The monthly report's hook: gaps(engine, office, start, end) → (title, count, days) rows of the gap queue."""
    def gaps(engine, office, start, end):
        return [(g.title, g.count, g.days) for g in gap_groups(engine, searcher, office=office, since=start, until=end)]
    return gaps
