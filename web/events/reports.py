"""Monthly reports per office (or for the whole contact centre), computed from the event store.

One function builds the report (`office_report`); the web page, the CSV download and `kb report` all
show what it returns, and `report_rows` flattens it for CSV, so the three always agree.

Attribution to an office:
- outcomes, feedback and flags carry the office of the article they are about;
- a missing-answer report belongs to the office it was filed under (unfiled ones only to the whole centre);
- a search belongs to an office when it was filtered to that office, or, unfiltered, when its top hit is
  one of that office's articles (a search with no hits and no filter belongs only to the whole centre).

Searches as you type are recorded per keystroke pause, so "dag", "dagis" and "dagis kö" may be three
events. They all count as searches; the question-based figures (top questions, no-answer and opened
rate, unanswered questions) count a live search only when no search of the same channel and source
within a minute extends it (its final form), so fragments do not crowd the lists.
"""
from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from typing import Callable, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.engine import Engine

from kb.hours import STOCKHOLM
from kb.review import review_list
from web.events import tables

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
TREND_MONTHS = 6          # the month and the five before it
TOP = 10                  # rows in the "top" lists
LIVE_WINDOW = dt.timedelta(seconds=60)   # a live search extended within this time was a fragment
REVIEW_WITHIN_DAYS = 30
NO_GROUP = "(ingen svarsgrupp)"


class ReportError(ValueError):
    """A month or office the report cannot be made for; the message says what is accepted."""


def parse_month(text: str) -> tuple[int, int]:
    """(year, month) from "YYYY-MM"; ReportError for anything else."""
    match = MONTH_PATTERN.match((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise ReportError(f"bad month {text!r}: use YYYY-MM, e.g. 2026-10")
    return int(match.group(1)), int(match.group(2))


def shift_month(month: str, delta: int) -> str:
    """The month `delta` months after (negative: before) `month`, as "YYYY-MM"."""
    year, number = parse_month(month)
    index = year * 12 + number - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def previous_month(today: dt.date) -> str:
    """The last full month before `today` (the default report and demo month)."""
    return shift_month(f"{today.year:04d}-{today.month:02d}", -1)


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """Start and end of a Stockholm calendar month as naive UTC, the way the store keeps times."""
    year, number = parse_month(month)
    following = parse_month(shift_month(month, 1))
    start = dt.datetime(year, number, 1, tzinfo=STOCKHOLM)
    end = dt.datetime(*following, 1, tzinfo=STOCKHOLM)
    return _utc(start), _utc(end)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def local_date(stored: dt.datetime) -> dt.date:
    """The Stockholm date of a stored (naive UTC) time."""
    return stored.replace(tzinfo=dt.timezone.utc).astimezone(STOCKHOLM).date()


def check_office(office: str | None, offices: Iterable[str]) -> str | None:
    """The office key when it exists (None = the whole centre); ReportError listing the keys otherwise."""
    if office in (None, ""):
        return None
    known = sorted(offices)
    if office not in known:
        raise ReportError(f"unknown office {office!r}; choose one of: {', '.join(known)}")
    return office


def rate(part: int, whole: int) -> float | None:
    """part / whole rounded to 3 decimals; None when there is nothing to divide."""
    return round(part / whole, 3) if whole else None


def _normal(query: str) -> str:
    return " ".join(query.lower().split())


def _rows(conn, table, start, end, *where):
    return conn.execute(select(table).where(table.c.created_at >= start, table.c.created_at < end, *where)
                        .order_by(table.c.created_at, table.c.id)).all()


def has_demo(engine: Engine, month: str) -> bool:
    """True when the month holds generated demo events (the report then says so)."""
    start, end = month_bounds(month)
    with engine.connect() as conn:
        return any(conn.execute(select(t.c.id).where(t.c.demo.is_(True), t.c.created_at >= start,
                                                     t.c.created_at < end).limit(1)).first() is not None
                   for t in tables.TABLES)


def search_office(event, article_office: Mapping[str, str]) -> str | None:
    """The office a search belongs to: its filter, else the office of its top hit (see the module doc)."""
    if event.office:
        return event.office
    hits = json.loads(event.hit_ids or "[]")
    return article_office.get(hits[0]) if hits else None


def final_questions(events: list) -> list:
    """The searches that were questions: every page/api search, and live ones nobody extended within a minute."""
    kept = []
    for i, event in enumerate(events):
        if event.source == "live":
            text = _normal(event.query)
            extended = False
            for later in events[i + 1:]:
                if later.created_at - event.created_at > LIVE_WINDOW:
                    break
                if later.source == "live" and later.channel == event.channel and later.id != event.id:
                    other = _normal(later.query)
                    if other != text and other.startswith(text):
                        extended = True
                        break
            if extended:
                continue
        kept.append(event)
    return kept


def _searches(events: list, month: str, finals: set[int]) -> dict:
    year, number = parse_month(month)
    days = [dt.date(year, number, d) for d in range(1, calendar.monthrange(year, number)[1] + 1)]
    per_day = {day: Counter() for day in days}
    for event in events:
        day = local_date(event.created_at)
        if day in per_day:
            per_day[day][event.channel] += 1
    questions = [e for e in events if e.id in finals]
    no_answer = [e for e in questions if e.hit_count == 0 or e.low_confidence]
    answerable = [e for e in questions if e.hit_count]
    opened = [e for e in answerable if e.opened_article]
    top = Counter(_normal(e.query) for e in questions)
    unanswered = defaultdict(set)
    for event in no_answer:
        unanswered[_normal(event.query)].add(local_date(event.created_at))
    return {
        "total": len(events),
        "by_channel": {c: sum(e.channel == c for e in events) for c in tables.CHANNELS},
        "by_source": {s: sum(e.source == s for e in events) for s in ("page", "live", "api")},
        "by_day": [(day.isoformat(), per_day[day]["resident"], per_day[day]["handler"]) for day in days],
        "questions": len(questions),
        "no_answer": len(no_answer), "no_answer_rate": rate(len(no_answer), len(questions)),
        "with_hits": len(answerable),
        "opened": len(opened), "opened_rate": rate(len(opened), len(answerable)),
        "top_questions": top.most_common(TOP),
        # Most often first, then on most days: a question asked on many days is a steadier gap.
        "unanswered": sorted(((q, sum(1 for e in no_answer if _normal(e.query) == q), len(d))
                              for q, d in unanswered.items()), key=lambda r: (-r[1], -r[2], r[0]))[:TOP],
    }


def _outcome_counts(rows) -> dict:
    counts = Counter(r.outcome for r in rows)
    total = sum(counts[o] for o in tables.OUTCOMES)
    return {"solved": counts["solved"], "referred": counts["referred"], "callback": counts["callback"],
            "total": total, "rate": rate(counts["solved"], total)}


def _offices_of(articles: Mapping[str, object]) -> dict[str, str]:
    """Article id -> office; from the served version's columns when it has them (no record parsed)."""
    columns = getattr(articles, "columns", None)
    if columns is not None:
        return dict(zip(articles.ids, columns["office"].tolist()))
    return {key: a.office for key, a in articles.items()}


def _articles_of(articles: Mapping[str, object], office: str | None) -> list:
    """The articles of one office (None: all); only those records are parsed from a served version."""
    if hasattr(articles, "rows_where"):
        return articles.at(articles.rows_where(office=office))
    return [a for a in articles.values() if office in (None, a.office)]


def office_report(engine: Engine, office: str | None, month: str, *, articles: Mapping[str, object],
                  offices: Mapping[str, str], today: dt.date,
                  gaps: Callable[[Engine, str | None, dt.datetime, dt.datetime], list] | None = None) -> dict:
    """Everything in one office's (None: the whole centre's) monthly report, as plain data.

    `articles` maps article id to Article (the current content), `offices` office key to name.
    `gaps`, when given, is called as gaps(engine, office, start, end) and must return (label, count, days)
    rows, put under "gaps" (the hook for the grouped gap queue of web/events/gaps.py, e.g.
    [(g.title, g.count, g.days) for g in gap_groups(engine, searcher, office=office, since=start, until=end)]);
    without it "gaps" is None.
    """
    office = check_office(office, offices)
    start, end = month_bounds(month)
    trend_start, _ = month_bounds(shift_month(month, -(TREND_MONTHS - 1)))
    article_office = _offices_of(articles)

    def mine(table):
        return (table.c.office == office,) if office else ()

    with engine.connect() as conn:
        everything = _rows(conn, tables.search_events, start, end)
        # Fragments are found among all searches: "jag" may have had another office's top hit than "jag vill ...".
        finals = {e.id for e in final_questions(everything)}
        events = [e for e in everything if office is None or search_office(e, article_office) == office]
        history = _rows(conn, tables.outcomes, trend_start, end, *mine(tables.outcomes))
        votes = _rows(conn, tables.feedback, start, end, *mine(tables.feedback))
        flag_rows = _rows(conn, tables.flags, start, end, *mine(tables.flags))
        missing = _rows(conn, tables.missing_reports, start, end, *mine(tables.missing_reports))
    month_outcomes = [r for r in history if r.created_at >= start]

    trend = []
    for back in range(TREND_MONTHS - 1, -1, -1):
        label = shift_month(month, -back)
        lo, hi = month_bounds(label)
        counts = _outcome_counts([r for r in history if lo <= r.created_at < hi])
        trend.append((label, counts["solved"], counts["total"], counts["rate"]))

    groups = defaultdict(list)
    for row in month_outcomes:
        groups[row.answer_group or NO_GROUP].append(row)
    by_article = defaultdict(Counter)
    for vote in votes:
        by_article[vote.article_id]["yes" if vote.helped else "no"] += 1
    yes = sum(v.helped for v in votes)

    def title(article_id):
        article = articles.get(article_id)
        return article.title if article is not None else article_id

    scoped = _articles_of(articles, office)
    report = {
        "office": office, "office_name": offices[office] if office else None, "month": month,
        "demo": has_demo(engine, month),
        "searches": _searches(events, month, finals),
        "fcr": dict(_outcome_counts(month_outcomes), trend=trend),
        "outcomes_by_group": sorted(((g, *_outcome_counts(rows).values()) for g, rows in groups.items()),
                                    key=lambda r: (-r[4], r[0])),
        "referrals": sorted(Counter(r.referred_to for r in month_outcomes
                                    if r.outcome == "referred" and r.referred_to).items(),
                            key=lambda kv: (-kv[1], kv[0])),
        "feedback": {
            "yes": yes, "no": len(votes) - yes, "rate": rate(yes, len(votes)),
            "by_article": sorted(((a, title(a), c["yes"], c["no"], rate(c["yes"], c["yes"] + c["no"]))
                                  for a, c in by_article.items()), key=lambda r: (-(r[2] + r[3]), r[0])),
            "comments": [(local_date(v.created_at).isoformat(), v.article_id, v.helped, v.comment)
                         for v in votes if v.comment],
        },
        "flags": [(local_date(f.created_at).isoformat(), f.article_id, title(f.article_id), f.kind, f.reason or "")
                  for f in flag_rows],
        "missing": [(local_date(m.created_at).isoformat(), m.office or "", m.question, m.note or "")
                    for m in missing],
        "gaps": gaps(engine, office, start, end) if gaps is not None else None,
        "review": [(i.article.id, i.article.title, i.article.office, i.article.owner or "", i.reason,
                    i.date.isoformat() if i.date else "")
                   for i in review_list(scoped, today, REVIEW_WITHIN_DAYS)],
    }
    return report


def report_rows(report: dict) -> list[tuple[str, str, object]]:
    """The report as (section, key, value) rows: the CSV download and `kb report --csv` write exactly these."""
    s, fcr, fb = report["searches"], report["fcr"], report["feedback"]
    rows: list[tuple[str, str, object]] = [
        ("report", "office", report["office"] or "all"), ("report", "month", report["month"]),
        ("report", "demo", "yes" if report["demo"] else "no"),
        ("searches", "total", s["total"]),
        *(("searches", f"channel.{c}", n) for c, n in s["by_channel"].items()),
        *(("searches", f"source.{k}", n) for k, n in s["by_source"].items()),
        ("searches", "questions", s["questions"]),
        ("searches", "no_answer", s["no_answer"]), ("searches", "no_answer_rate", _value(s["no_answer_rate"])),
        ("searches", "with_hits", s["with_hits"]),
        ("searches", "opened", s["opened"]), ("searches", "opened_rate", _value(s["opened_rate"])),
    ]
    for day, resident, handler in s["by_day"]:
        rows += [("searches_by_day", f"{day}.resident", resident), ("searches_by_day", f"{day}.handler", handler)]
    rows += [("top_questions", q, n) for q, n in s["top_questions"]]
    rows += [("fcr", k, _value(fcr[k])) for k in ("solved", "referred", "callback", "total", "rate")]
    for label, solved, total, value in fcr["trend"]:
        rows += [("fcr_trend", f"{label}.solved", solved), ("fcr_trend", f"{label}.total", total),
                 ("fcr_trend", f"{label}.rate", _value(value))]
    for group, solved, referred, callback, total, value in report["outcomes_by_group"]:
        rows += [("outcomes_by_group", f"{group}.{k}", v) for k, v in
                 (("solved", solved), ("referred", referred), ("callback", callback), ("total", total),
                  ("rate", _value(value)))]
    rows += [("referrals", target, n) for target, n in report["referrals"]]
    rows += [("feedback", "yes", fb["yes"]), ("feedback", "no", fb["no"]), ("feedback", "yes_rate", _value(fb["rate"]))]
    for article_id, _title, yes, no, value in fb["by_article"]:
        rows += [("feedback_by_article", f"{article_id}.yes", yes), ("feedback_by_article", f"{article_id}.no", no),
                 ("feedback_by_article", f"{article_id}.yes_rate", _value(value))]
    rows += [("feedback_comments", f"{day} {article_id}", f"{'yes' if helped else 'no'}: {comment}")
             for day, article_id, helped, comment in fb["comments"]]
    rows += [("flags", f"{day} {article_id}", f"{kind}: {reason}" if reason else kind)
             for day, article_id, _title, kind, reason in report["flags"]]
    rows += [("missing", f"{day} {office or '-'}", f"{question} | {note}" if note else question)
             for day, office, question, note in report["missing"]]
    rows += [("unanswered", q, n) for q, n, _days in s["unanswered"]]
    rows += [("gaps", label, count) for label, count, _days in report["gaps"] or []]
    rows += [("review", article_id, f"{reason} {date}".strip()) for article_id, _t, _o, _owner, reason, date
             in report["review"]]
    return rows


def _value(value):
    """A rate as written in CSV: empty when there was nothing to divide."""
    return "" if value is None else value
