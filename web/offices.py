"""Office and contact cards: who answers, phone, e-mail, opening hours and whether they are open now."""
from __future__ import annotations

import datetime as dt
import re

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _

from kb import hours
from web import config
from web.engine import get_searcher
from web.i18n import current_language

# The contact centre from the brief, used when the content has no office for it (KB_CONTACT_OFFICE).
CONTACT_CENTRE = {
    "key": "", "name": "Kontaktcenter Stockholm", "description": "", "group": "",
    "phone": "08-508 11 000", "email": "kontaktcenter@stockholm.se", "web": "",
    "hours": {"mon": "08:00-16:30", "tue": "08:00-16:30", "wed": "08:00-16:30", "thu": "08:00-16:30",
              "fri": "08:00-16:00"},
    "summer": {"from": "06-15", "until": "08-15",
               "hours": {"mon": "08:00-16:00", "tue": "08:00-16:00", "wed": "08:00-16:00", "thu": "08:00-16:00",
                         "fri": "08:00-15:00"}},
    "exceptions": [], "referral": "",
}


def _day_names() -> dict[str, str]:
    return {"mon": _("mån"), "tue": _("tis"), "wed": _("ons"), "thu": _("tors"), "fri": _("fre"),
            "sat": _("lör"), "sun": _("sön")}


def _long_day_names() -> dict[str, str]:
    return {"mon": _("måndag"), "tue": _("tisdag"), "wed": _("onsdag"), "thu": _("torsdag"), "fri": _("fredag"),
            "sat": _("lördag"), "sun": _("söndag")}


def clock(moment: dt.time) -> str:
    """A time as people write it in the UI language: 08.30 (sv, fi) or 08:30 (en)."""
    return moment.strftime("%H:%M" if current_language() == "en" else "%H.%M")


def span_text(span: hours.Span) -> str:
    """08.00–16.30."""
    return f"{clock(span.start)}–{clock(span.end)}"


def tel_href(phone: str) -> str:
    """A tel: link for a Swedish number: 08-508 11 000 -> tel:+46850811000."""
    digits = re.sub(r"[^\d+]", "", phone or "")
    if digits.startswith("0") and not digits.startswith("00"):
        digits = "+46" + digits[1:]
    return f"tel:{digits}" if digits else ""


def status_text(state: hours.OpenStatus, now: dt.datetime) -> str:
    """"Öppet nu, stänger 16.30" / "Stängt nu. Öppnar i morgon 08.00"."""
    if state.is_open:
        return _("Öppet nu, stänger %(time)s", time=clock(state.closes_at.timetz()))
    if state.opens_at is None:
        return _("Stängt nu.")
    opens, days = state.opens_at, (state.opens_at.date() - now.date()).days
    if days == 0:
        return _("Stängt nu. Öppnar i dag %(time)s", time=clock(opens.timetz()))
    if days == 1:
        return _("Stängt nu. Öppnar i morgon %(time)s", time=clock(opens.timetz()))
    day = _long_day_names()[hours.WEEKDAYS[opens.weekday()]]
    return _("Stängt nu. Öppnar %(day)s %(time)s", day=day, time=clock(opens.timetz()))


def _weekly_rows(office: dict, today: dt.date) -> list[dict]:
    names = _day_names()
    rows = []
    for days, span in hours.weekly(office, today):
        label = names[days[0]] if len(days) == 1 else f"{names[days[0]]}–{names[days[-1]]}"
        rows.append({"days": label, "hours": span_text(span)})
    return rows


def _exception_rows(office: dict, today: dt.date) -> list[dict]:
    return [{"date": format_date(date, "d MMMM"), "hours": span_text(span) if span else _("stängt"), "note": note}
            for date, span, note in hours.exceptions_ahead(office, today)]


def card(office: dict, *, internal: bool = False) -> dict:
    """Everything an office card shows; the referral text only for handlers."""
    now = config.now()
    state = hours.status(office, now)
    return {
        "key": office.get("key", ""), "name": office.get("name", ""), "group": office.get("group", ""),
        "description": office.get("description", ""),
        "phone": office.get("phone", ""), "tel": tel_href(office.get("phone", "")),
        "email": office.get("email", ""), "web": office.get("web", ""),
        "is_open": state.is_open, "status": status_text(state, now),
        "summer": hours.is_summer(office, now.date()),
        "weekly": _weekly_rows(office, now.date()), "exceptions": _exception_rows(office, now.date()),
        "referral": office.get("referral", "") if internal else "",
    }


def office_card(key: str | None, *, internal: bool = False) -> dict | None:
    """The card of an office by key, or None when there is no such office."""
    office = get_searcher().snapshot.offices.get(key or "")
    return card(office, internal=internal) if office else None


def contact_centre_card() -> dict:
    """The contact centre's card: the KB_CONTACT_OFFICE office, else the built-in details."""
    office = get_searcher().snapshot.offices.get(current_app.config["KB_CONTACT_OFFICE"]) or CONTACT_CENTRE
    return card(office)


def open_state(office: dict) -> dict:
    """Open now and the next change, for JSON (ISO times, Stockholm offset)."""
    state = hours.status(office, config.now())
    return {"open_now": state.is_open,
            "closes_at": state.closes_at.isoformat() if state.closes_at else None,
            "opens_at": state.opens_at.isoformat() if state.opens_at else None}
