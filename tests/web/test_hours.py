"""kb.hours: hours on a date, summer period, exceptions, open now in Stockholm time."""
import datetime as dt

import pytest

from kb.hours import STOCKHOLM, Span, exceptions_ahead, hours_on, is_summer, parse_span, status, weekly

OFFICE = {
    "hours": {"mon": "08:00-16:30", "tue": "08:00-16:30", "wed": "08:00-16:30", "thu": "08:00-16:30",
              "fri": "08:00-16:00"},
    "summer": {"from": "06-15", "until": "08-15", "hours": {"mon": "08:00-16:00", "fri": "08:00-15:00"}},
    "exceptions": [{"date": "2026-12-24", "hours": "closed", "note": "julafton"},
                   {"date": "2026-12-23", "hours": "08:00-12:00", "note": ""}],
}


def at(*args):
    return dt.datetime(*args, tzinfo=STOCKHOLM)


def test_parse_span():
    assert parse_span("08:00-16:30") == Span(dt.time(8), dt.time(16, 30))
    assert parse_span("8:00-9:15") == Span(dt.time(8), dt.time(9, 15))
    assert parse_span("closed") is None and parse_span(None) is None and parse_span("nonsense") is None
    assert str(parse_span("08:00-16:30")) == "08:00-16:30"


@pytest.mark.parametrize("day, expected", [
    (dt.date(2026, 11, 23), "08:00-16:30"),   # Monday, regular
    (dt.date(2026, 11, 27), "08:00-16:00"),   # Friday, regular
    (dt.date(2026, 11, 28), None),            # Saturday: not in the table = closed
    (dt.date(2026, 6, 15), "08:00-16:00"),    # Monday, first day of summer
    (dt.date(2026, 6, 16), "08:00-16:30"),    # Tuesday in summer, not in the summer table: regular
    (dt.date(2026, 8, 14), "08:00-15:00"),    # Friday in summer
    (dt.date(2026, 8, 17), "08:00-16:30"),    # Monday after summer
    (dt.date(2026, 12, 23), "08:00-12:00"),   # exception with short hours
    (dt.date(2026, 12, 24), None),            # exception: closed
])
def test_hours_on(day, expected):
    span = hours_on(OFFICE, day)
    assert (str(span) if span else None) == expected


def test_summer_period_can_wrap_over_new_year():
    office = {"summer": {"from": "12-20", "until": "01-06", "hours": {}}}
    assert is_summer(office, dt.date(2026, 12, 31)) and is_summer(office, dt.date(2027, 1, 6))
    assert not is_summer(office, dt.date(2027, 1, 7))
    assert not is_summer({}, dt.date(2026, 7, 1))


def test_open_now_and_closing_time():
    state = status(OFFICE, at(2026, 11, 23, 10, 0))
    assert state.is_open and state.closes_at == at(2026, 11, 23, 16, 30)


def test_closed_in_the_evening_opens_next_morning():
    state = status(OFFICE, at(2026, 11, 23, 16, 30))
    assert not state.is_open and state.opens_at == at(2026, 11, 24, 8, 0)


def test_closed_before_opening_opens_same_day():
    state = status(OFFICE, at(2026, 11, 23, 7, 59))
    assert not state.is_open and state.opens_at == at(2026, 11, 23, 8, 0)


def test_friday_evening_opens_monday():
    state = status(OFFICE, at(2026, 11, 27, 16, 5))
    assert not state.is_open and state.opens_at == at(2026, 11, 30, 8, 0)


def test_summer_friday_closes_early():
    assert not status(OFFICE, at(2026, 7, 3, 15, 30)).is_open
    assert status(OFFICE, at(2026, 11, 27, 15, 30)).is_open


def test_exception_closes_christmas_eve_and_utc_input_is_converted():
    assert not status(OFFICE, at(2026, 12, 24, 10, 0)).is_open
    state = status(OFFICE, dt.datetime(2026, 12, 23, 10, 30, tzinfo=dt.timezone.utc))  # 11:30 in Stockholm
    assert state.is_open and state.closes_at == at(2026, 12, 23, 12, 0)
    assert not status(OFFICE, dt.datetime(2026, 12, 23, 11, 30, tzinfo=dt.timezone.utc)).is_open


def test_daylight_saving_time_is_respected():
    # 06:30 UTC is 08:30 in Stockholm in summer (UTC+2) but 07:30 in winter (UTC+1).
    assert status(OFFICE, dt.datetime(2026, 9, 1, 6, 30, tzinfo=dt.timezone.utc)).is_open
    assert not status(OFFICE, dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)).is_open


def test_never_open_office():
    assert status({"hours": {}}, at(2026, 11, 23, 10, 0)) == status({}, at(2026, 11, 23, 10, 0))
    assert status({}, at(2026, 11, 23, 10, 0)).opens_at is None


def test_weekly_groups_equal_days():
    rows = weekly(OFFICE, dt.date(2026, 11, 23))
    assert [(days, str(span)) for days, span in rows] == [
        (["mon", "tue", "wed", "thu"], "08:00-16:30"), (["fri"], "08:00-16:00")]
    summer = weekly(OFFICE, dt.date(2026, 7, 1))
    assert [(days, str(span)) for days, span in summer] == [
        (["mon"], "08:00-16:00"), (["tue", "wed", "thu"], "08:00-16:30"), (["fri"], "08:00-15:00")]


def test_exceptions_ahead():
    found = exceptions_ahead(OFFICE, dt.date(2026, 12, 20))
    assert [(d.isoformat(), str(s) if s else None, note) for d, s, note in found] == [
        ("2026-12-23", "08:00-12:00", ""), ("2026-12-24", None, "julafton")]
    assert exceptions_ahead(OFFICE, dt.date(2026, 11, 1)) == []
