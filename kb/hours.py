"""Opening hours of an office: the hours on a date and whether it is open now, in Stockholm time.

Works on the office dict of an index snapshot (`kb.schema.Office.to_dict()`): regular
`hours`, an optional yearly `summer` period with its own hours, and single-date
`exceptions`. A date's hours come from, in order: an exception for that date, the
summer table (when the date lies in the period and the table names the weekday),
the regular table. A weekday missing from the regular table means closed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kb.schema import WEEKDAYS

STOCKHOLM = ZoneInfo("Europe/Stockholm")
LOOKAHEAD_DAYS = 14   # how far ahead "opens next" and upcoming exceptions are looked for


@dataclass(frozen=True)
class Span:
    """One opening interval on a day, e.g. 08:00-16:30."""

    start: dt.time
    end: dt.time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class OpenStatus:
    """Whether an office is open at a moment, and when that changes."""

    is_open: bool
    closes_at: dt.datetime | None = None   # when open: today's closing time
    opens_at: dt.datetime | None = None    # when closed: the next opening within LOOKAHEAD_DAYS


def parse_span(value) -> Span | None:
    """'HH:MM-HH:MM' to a Span; 'closed', empty or unreadable values to None."""
    if value is None or str(value).strip().lower() in {"", "closed"}:
        return None
    try:
        start, end = (dt.time.fromisoformat(part.strip().zfill(5)) for part in str(value).split("-"))
    except ValueError:
        return None
    return Span(start, end) if start < end else None


def now_in_stockholm() -> dt.datetime:
    """The current time in Europe/Stockholm (summer time included)."""
    return dt.datetime.now(STOCKHOLM)


def _month_day(value: str) -> tuple[int, int]:
    month, day = str(value).split("-")
    return int(month), int(day)


def is_summer(office: dict, day: dt.date) -> bool:
    """True when `day` lies in the office's summer period (inclusive; may wrap over New Year)."""
    summer = office.get("summer") or {}
    if not summer.get("from") or not summer.get("until"):
        return False
    try:
        start, end = _month_day(summer["from"]), _month_day(summer["until"])
    except ValueError:
        return False
    here = (day.month, day.day)
    if start <= end:
        return start <= here <= end
    return here >= start or here <= end


def _exception(office: dict, day: dt.date) -> dict | None:
    for item in office.get("exceptions") or []:
        if str(item.get("date")) == day.isoformat():
            return item
    return None


def hours_on(office: dict, day: dt.date) -> Span | None:
    """The office's opening span on a date, or None when it is closed all day."""
    exception = _exception(office, day)
    if exception is not None:
        return parse_span(exception.get("hours", "closed"))
    return _table_span(office, WEEKDAYS[day.weekday()], is_summer(office, day))


def status(office: dict, now: dt.datetime) -> OpenStatus:
    """Open or closed at `now` (converted to Stockholm time), with the next change."""
    local = now.astimezone(STOCKHOLM) if now.tzinfo else now.replace(tzinfo=STOCKHOLM)
    today = local.date()
    span = hours_on(office, today)
    if span and span.start <= local.time() < span.end:
        return OpenStatus(True, closes_at=dt.datetime.combine(today, span.end, STOCKHOLM))
    for offset in range(0, LOOKAHEAD_DAYS + 1):
        day = today + dt.timedelta(days=offset)
        span = hours_on(office, day)
        if span is None or (offset == 0 and local.time() >= span.start):
            continue
        return OpenStatus(False, opens_at=dt.datetime.combine(day, span.start, STOCKHOLM))
    return OpenStatus(False)


def weekly(office: dict, day: dt.date) -> list[tuple[list[str], Span]]:
    """The weekly table in effect on `day` (summer or regular), open days only, equal neighbours grouped.

    E.g. [(['mon', 'tue', 'wed', 'thu'], 08:00-16:30), (['fri'], 08:00-16:00)]. Single-date
    exceptions are not folded in: list them with `exceptions_ahead`.
    """
    summer = is_summer(office, day)
    groups: list[tuple[list[str], Span]] = []
    for index, weekday in enumerate(WEEKDAYS):
        span = _table_span(office, weekday, summer)
        if span is None:
            continue
        if groups and groups[-1][1] == span and WEEKDAYS.index(groups[-1][0][-1]) == index - 1:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], span))
    return groups


def _table_span(office: dict, weekday: str, summer: bool) -> Span | None:
    summer_hours = (office.get("summer") or {}).get("hours") or {}
    if summer and weekday in summer_hours:
        return parse_span(summer_hours[weekday])
    return parse_span((office.get("hours") or {}).get(weekday))


def exceptions_ahead(office: dict, day: dt.date, days: int = LOOKAHEAD_DAYS) -> list[tuple[dt.date, Span | None, str]]:
    """Exceptions from `day` up to `days` ahead: (date, span or None for closed, note)."""
    found = []
    for item in office.get("exceptions") or []:
        try:
            date = dt.date.fromisoformat(str(item.get("date")))
        except ValueError:
            continue
        if day <= date <= day + dt.timedelta(days=days):
            found.append((date, parse_span(item.get("hours", "closed")), str(item.get("note") or "")))
    return sorted(found, key=lambda entry: entry[0])
