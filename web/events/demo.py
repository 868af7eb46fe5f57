"""A generated month of events, every row marked demo=true, so a new installation shows a real-looking report.

The questions are real ones (the evaluation set, the articles' own alternative phrasings, typo and
colloquial variants, and recurring questions the content does not answer) run through the real
Searcher; outcomes, feedback, flags and missing-answer reports follow from what the search found.
Deterministic for a seed; seeding a month again replaces its demo rows instead of adding to them.
"""
from __future__ import annotations

import calendar
import datetime as dt
import json
import random
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from kb.hours import STOCKHOLM
from kb.redact import redact
from web.events import tables
from web.events.reports import TREND_MONTHS, month_bounds, parse_month, shift_month

EVAL_QUERIES = Path(__file__).resolve().parents[2] / "tests" / "eval" / "queries.jsonl"
QUESTIONS_PER_DAY = 60        # questions on an ordinary weekday (Mondays more, Fridays fewer)
POOL_SIZE = 90                # distinct known questions in a month; a few are asked far more often
HOUR_WEIGHTS = {8: 6, 9: 10, 10: 12, 11: 9, 12: 6, 13: 9, 14: 10, 15: 8, 16: 4}   # a contact centre's day

# Questions nothing in the demo content answers, each in a few phrasings: they recur on several days,
# so the gap queue has groups to show.
UNANSWERED = [
    ["var kan jag ladda min elbil", "laddstolpe elbil", "laddplats för elbil på gatan"],
    ["var finns närmaste hundrastgård", "hundrastgård", "får hunden vara lös i parken"],
    ["när öppnar simhallen", "simhall öppettider", "badhus öppettider helg"],
    ["när plogas min gata", "snöröjning på gatan", "ingen har plogat vår gata"],
    ["hur bokar jag lokal för kalas", "hyra festlokal kommunen"],
    ["var förnyar jag mitt pass", "pass ansökan"],
]
YES_COMMENTS = ["Tack, tydligt svar!", "Bra, hittade direkt.", "Skönt att slippa ringa.", "Tydligt och enkelt."]
NO_COMMENTS = ["Svaret gällde inte min situation.", "Hittade inte vad det kostar.",
               "Länken till e-tjänsten fungerade inte.", "För krångligt, jag ringer istället."]
FLAG_REASONS = {
    "wrong": ["Fel telefonnummer till handläggarna.", "Beloppet stämmer inte med beslutet."],
    "outdated": ["Avgifterna ändrades 1 juli.", "E-tjänsten har bytt namn.", "Öppettiderna gäller inte längre."],
    "unclear": ["Oklart om det gäller även vårdnadshavare med delad vårdnad.", "Invånare förstår inte ordet 'placering'."],
}
MISSING_NOTES = ["Flera samtal om detta i dag.", "Invånaren hänvisades till växeln.", "", "Ingen artikel passar."]


class DemoError(Exception):
    """Seeding was refused (real events in the month, no index); the message says why."""


def has_events(engine: Engine, start: dt.datetime | None = None, end: dt.datetime | None = None,
               demo: bool | None = None) -> bool:
    """True when any event table has a row (in [start, end), of the given demo kind, when given)."""
    with engine.connect() as conn:
        for table in tables.TABLES:
            where = []
            if start is not None:
                where += [table.c.created_at >= start, table.c.created_at < end]
            if demo is not None:
                where.append(table.c.demo.is_(demo))
            if conn.execute(select(table.c.id).where(*where).limit(1)).first() is not None:
                return True
    return False


def clear_demo(engine: Engine) -> int:
    """Delete every demo row; returns how many."""
    removed = 0
    with engine.begin() as conn:
        for table in tables.TABLES:
            removed += conn.execute(delete(table).where(table.c.demo.is_(True))).rowcount or 0
    return removed


def working_days(month: str) -> list[dt.date]:
    """Monday to Friday of the month."""
    year, number = parse_month(month)
    days = (dt.date(year, number, d) for d in range(1, calendar.monthrange(year, number)[1] + 1))
    return [d for d in days if d.weekday() < 5]


class _Month:
    """The generator's state for one month: random source, searcher cache, rows per table."""

    def __init__(self, searcher, month: str, seed: int, per_day: int):
        self.rng = random.Random(f"kb-demo:{seed}:{month}")
        self.searcher = searcher
        self.month = month
        self.per_day = per_day
        self.cache: dict = {}
        self.rows: dict = {t.name: [] for t in tables.TABLES}
        self.articles = searcher.snapshot.articles
        self.offices = sorted(searcher.snapshot.offices)

    def search(self, query: str, audience: str, office: str | None):
        """The real Searcher's result, run once per distinct question, audience and filter."""
        key = (query, audience, office)
        if key not in self.cache:
            self.cache[key] = self.searcher.search(query, office=office, audience=audience, k=5)
        return self.cache[key]

    def moment(self, day: dt.date) -> dt.datetime:
        """A time in the contact centre's working hours that day, as naive UTC (the store's times)."""
        hour = self.rng.choices(list(HOUR_WEIGHTS), weights=list(HOUR_WEIGHTS.values()))[0]
        local = dt.datetime(day.year, day.month, day.day, hour, self.rng.randrange(60), self.rng.randrange(60),
                            tzinfo=STOCKHOLM)
        return local.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def pool(self) -> tuple[list[str], list[float]]:
        """The month's questions and how often each is asked (a few very often, most now and then)."""
        swedish: dict[str, str] = {}    # question -> the office it is about
        other: set[str] = set()
        if EVAL_QUERIES.exists():
            for line in EVAL_QUERIES.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    item = json.loads(line)
                    found = [self.articles[a] for a in item.get("relevant", []) if a in self.articles]
                    if any(a.language != "sv" for a in found):
                        other.add(item["query"])
                    else:
                        swedish[item["query"]] = found[0].office if found else ""
        for article in self.articles.values():
            if article.audience == "public" and not article.translation_of:
                swedish.update((q, article.office) for q in article.alt_questions)
        # Interleave the offices, so every office has some of the frequent questions.
        by_office: dict[str, list[str]] = {}
        for question, office in sorted(swedish.items()):
            by_office.setdefault(office, []).append(question)
        for questions in by_office.values():
            self.rng.shuffle(questions)
        swedish_list = [q for rank in zip(*_padded(list(by_office.values()))) for q in rank if q]
        other_list = sorted(other - set(swedish))
        self.rng.shuffle(other_list)
        # Most callers write Swedish: the frequent questions are Swedish, other languages come now and then.
        share = POOL_SIZE // 8
        chosen = swedish_list[:POOL_SIZE - share]
        chosen += [self.variant(q) for q in self.rng.sample(chosen, min(len(chosen), 20))]
        chosen += other_list[:share]
        weights = [1 / (rank + 1) ** 0.6 for rank in range(len(chosen))]
        gaps = [q for group in UNANSWERED for q in group]
        # Unanswered questions: each phrasing about as often as a mid-table known question.
        return chosen + gaps, weights + [weights[min(len(weights) - 1, 12)]] * len(gaps)

    def variant(self, query: str) -> str:
        """A typo or a colloquial form of a question, as people really type them."""
        kind = self.rng.choice(("swap", "drop", "casual", "lower"))
        letters = list(query)
        if kind in ("swap", "drop") and len(query) > 5:
            i = self.rng.randrange(1, len(letters) - 2)
            if kind == "swap":
                letters[i], letters[i + 1] = letters[i + 1], letters[i]
            else:
                del letters[i]
            return "".join(letters)
        if kind == "casual":
            return self.rng.choice(("hej! ", "hej, jag undrar ", "snälla ")) + query.lower()
        return query.lower().rstrip("?") + "?"


def _padded(lists: list[list[str]]) -> list[list[str | None]]:
    longest = max((len(x) for x in lists), default=0)
    return [x + [None] * (longest - len(x)) for x in lists]


def _search_row(created, channel, source, office, query, result, token, opened=None) -> dict:
    return {"created_at": created, "channel": channel, "source": source, "office": office, "language": None,
            "query": redact(query)[:tables.QUERY_MAX], "hit_ids": json.dumps([h.id for h in result.hits[:5]]),
            "top_confidence": round(float(result.confidence), 4) if result.hits else None,
            "hit_count": len(result.hits), "low_confidence": bool(result.low_confidence), "token": token,
            "opened_article": opened, "demo": True}


def _day(gen: _Month, day: dt.date, questions: list[str], weights: list[float]) -> None:
    rng = gen.rng
    volume = gen.per_day * {0: 1.25, 4: 0.8}.get(day.weekday(), 1.0) * rng.uniform(0.85, 1.15)
    for _ in range(max(1, round(volume))):
        query = rng.choices(questions, weights=weights)[0]
        channel = "resident" if rng.random() < 0.6 else "handler"
        audience = "public" if channel == "resident" else "internal"
        if channel == "resident":
            source = rng.choices(("page", "live", "api"), weights=(55, 38, 7))[0]
        else:
            source = rng.choices(("page", "live"), weights=(35, 65))[0]
        office = None
        if channel == "handler" and rng.random() < 0.12:
            office = rng.choice(gen.offices)
        created = gen.moment(day)
        if source == "live" and " " in query and rng.random() < 0.5:
            fragment = query.split(" ", 1)[0]   # what the box showed while the question was being typed
            gen.rows["search_events"].append(_search_row(
                created - dt.timedelta(seconds=rng.randint(2, 6)), channel, source, office, fragment,
                gen.search(fragment, audience, office), rng.randbytes(8).hex()))
        result = gen.search(query, audience, office)
        opened = None
        if result.hits and source != "api":
            chance = (0.55 if channel == "resident" else 0.7) * (0.3 if result.low_confidence else 1.0)
            if rng.random() < chance:
                opened = result.hits[0].id if rng.random() < 0.8 else rng.choice(result.hits[:3]).id
        gen.rows["search_events"].append(_search_row(created, channel, source, office, query, result,
                                                     rng.randbytes(8).hex(), opened))
        later = created + dt.timedelta(minutes=rng.randint(1, 6))
        # The outcome buttons are on the article page: mostly recorded for calls where an article was opened.
        if channel == "handler" and result.hits and rng.random() < (0.85 if opened else 0.2):
            _outcome(gen, later, gen.articles[opened or result.hits[0].id], query, result.low_confidence)
        if channel == "resident" and opened and rng.random() < 0.3:
            _feedback(gen, later, gen.articles[opened])


def _outcome(gen: _Month, created, article, query: str, unsure: bool) -> None:
    rng = gen.rng
    if rng.random() < (0.7 if unsure else 0.84):
        kind, target = "solved", None
    elif rng.random() < 0.6:
        kind = "referred"
        # Mostly to the office that owns the matter; sometimes the caller needed another one.
        target = article.office if rng.random() < 0.7 else rng.choice(gen.offices)
    else:
        kind, target = "callback", None
    gen.rows["outcomes"].append({"created_at": created, "article_id": article.id, "office": article.office,
                                 "answer_group": article.group or None, "outcome": kind, "referred_to": target,
                                 "query": redact(query)[:tables.QUERY_MAX], "demo": True})


def _feedback(gen: _Month, created, article) -> None:
    rng = gen.rng
    if article.audience != "public":
        return
    helped = rng.random() < 0.87
    comment = None
    if rng.random() < 0.12:
        comment = rng.choice(YES_COMMENTS if helped else NO_COMMENTS)
    gen.rows["feedback"].append({"created_at": created, "article_id": article.id, "office": article.office,
                                 "helped": helped, "comment": comment, "session_hash": rng.randbytes(32).hex(),
                                 "demo": True})


def _extras(gen: _Month, days: list[dt.date]) -> None:
    """A handful of flags and missing-answer reports over the month."""
    rng = gen.rng
    opened = sorted({r["opened_article"] for r in gen.rows["search_events"] if r["opened_article"]})
    for _ in range(max(3, gen.per_day // 8) if opened else 0):
        article = gen.articles[rng.choice(opened)]
        kind = rng.choices(("wrong", "outdated", "unclear"), weights=(25, 45, 30))[0]
        gen.rows["flags"].append({"created_at": gen.moment(rng.choice(days)), "article_id": article.id,
                                  "office": article.office, "kind": kind, "reason": rng.choice(FLAG_REASONS[kind]),
                                  "demo": True})
    for _ in range(max(4, gen.per_day // 6)):
        question = rng.choice(rng.choice(UNANSWERED))
        gen.rows["missing_reports"].append({
            "created_at": gen.moment(rng.choice(days)), "channel": "handler",
            "office": rng.choice(gen.offices) if rng.random() < 0.4 else None, "question": question,
            "note": rng.choice(MISSING_NOTES) or None, "demo": True})


def _history(gen: _Month, engine: Engine) -> None:
    """Outcomes for the five months before, slowly improving, so the FCR trend has a line to draw.

    Only months without any outcomes get them: real figures are never mixed with invented ones.
    """
    rng, sample = gen.rng, gen.rows["outcomes"]
    if not sample:
        return
    for back in range(1, TREND_MONTHS):
        label = shift_month(gen.month, -back)
        start, end = month_bounds(label)
        with engine.connect() as conn:
            if conn.execute(select(tables.outcomes.c.id).where(tables.outcomes.c.created_at >= start,
                                                                tables.outcomes.c.created_at < end).limit(1)).first():
                continue
        solved_share = 0.84 - 0.025 * back + rng.uniform(-0.02, 0.02)
        days = working_days(label)
        for _ in range(round(len(sample) * rng.uniform(0.8, 1.0))):
            model = rng.choice(sample)
            solved = rng.random() < solved_share
            kind = "solved" if solved else rng.choice(("referred", "referred", "callback"))
            sample_row = dict(model, created_at=gen.moment(rng.choice(days)), outcome=kind,
                              referred_to=(model["referred_to"] or model["office"]) if kind == "referred" else None)
            gen.rows.setdefault("history", []).append(sample_row)


def seed_month(engine: Engine, searcher, month: str, *, seed: int = 1, force: bool = False,
               per_day: int = QUESTIONS_PER_DAY) -> dict[str, int]:
    """Generate the month's demo events (replacing earlier demo rows of it); returns rows per table."""
    start, end = month_bounds(month)
    if not force and has_events(engine, start, end, demo=False):
        raise DemoError(f"{month} already has real events; use --force to add demo events anyway")
    if not searcher.snapshot.articles:
        raise DemoError("the index has no articles to search")
    with engine.begin() as conn:
        for table in tables.TABLES:
            conn.execute(delete(table).where(table.c.demo.is_(True), table.c.created_at >= start,
                                             table.c.created_at < end))
    gen = _Month(searcher, month, seed, per_day)
    questions, weights = gen.pool()
    days = working_days(month)
    for day in days:
        _day(gen, day, questions, weights)
    _extras(gen, days)
    _history(gen, engine)
    counts = {}
    with engine.begin() as conn:
        for table in tables.TABLES:
            rows = gen.rows[table.name] + (gen.rows.get("history", []) if table is tables.outcomes else [])
            if rows:
                conn.execute(insert(table), rows)
            counts[table.name] = len(rows)
    return counts
