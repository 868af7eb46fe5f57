"""/redaktion/rapport: an office's (or the whole centre's) monthly report, with charts and a CSV download.

The page, the CSV and `kb report` all show web.events.reports.office_report, so their numbers agree.
"""
from __future__ import annotations

import io

from flask import Response, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from web import config
from web.editor import add_link, bp, editor_required
from web.engine import get_searcher
from web.events import charts, get_store
from web.events.gaps import report_gaps
from web.events.report_commands import write_csv
from web.events.reports import (ReportError, check_office, office_report, parse_month, previous_month,
                                report_rows, shift_month)

MONTHS_OFFERED = 13   # this month and the twelve before it

add_link("editor.report", "Rapporter")


def percent(value) -> str:
    """A rate (0–1) as the page shows it, "83,3 %"; a dash when there was nothing to divide."""
    if value is None or value == "":
        return "–"
    return f"{float(value) * 100:.1f}".replace(".", ",") + " %"


def _choices():
    """(office, month, offices, today, error) from the query string; error is a Swedish message or None."""
    snapshot = get_searcher().snapshot
    offices = {key: o["name"] for key, o in snapshot.offices.items()}
    today = config.today()
    month = (request.args.get("month") or "").strip() or previous_month(today)
    office = (request.args.get("office") or "").strip() or None
    try:
        parse_month(month)
    except ReportError:
        return office, month, offices, today, _("Ogiltig månad. Ange den som ÅÅÅÅ-MM, till exempel 2026-10.")
    try:
        check_office(office, offices)
    except ReportError:
        return office, month, offices, today, _("Det finns ingen förvaltning med den nyckeln.")
    return office, month, offices, today, None


def _report(office, month, offices, today) -> dict:
    searcher = get_searcher()
    return office_report(get_store().engine, office, month, articles=searcher.snapshot.articles,
                         offices=offices, today=today, gaps=report_gaps(searcher))


def _charts(report: dict) -> dict:
    s, fb = report["searches"], report["feedback"]
    return {
        "days": charts.searches_per_day("chart-days", s["by_day"], {
            "title": _("Sökningar per dag"), "resident": _("Invånare"), "handler": _("Handläggare"),
            "desc": _("Staplar per dag i månaden, invånare och handläggare. Totalt %(total)s sökningar på "
                      "%(days)s dagar; flest %(busiest)s (%(most)s).", total="{total}", days="{days}",
                      busiest="{busiest}", most="{most}")}),
        "trend": charts.trend_line("chart-trend", [(label, value) for label, _s, _t, value in report["fcr"]["trend"]], {
            "title": _("Löst vid första kontakt, sex månader"),
            "desc": _("Andel samtal lösta vid första kontakt per månad: %(values)s.", values="{values}"),
            "empty": _("inga utfall")}),
        "yesno": charts.yes_no_bars("chart-yesno", [(title, yes, no) for _a, title, yes, no, _r
                                                    in fb["by_article"][:10]], {
            "title": _("Fick du svar på din fråga? Per artikel"), "yes": _("Ja"), "no": _("Nej"),
            "counts": _("%(yes)s ja · %(no)s nej", yes="{yes}", no="{no}"),
            "desc": _("Antal ja och nej per artikel: %(values)s.", values="{values}")}),
    }


@bp.get("/rapport")
@editor_required
def report():
    """The monthly report page: key figures, charts and every section as a table."""
    office, month, offices, today, error = _choices()
    current = f"{today.year:04d}-{today.month:02d}"
    months = [shift_month(current, -i) for i in range(MONTHS_OFFERED)]
    if not error and month not in months:
        months.append(month)
    page = {"office": office, "month": month, "offices": sorted(offices.items(), key=lambda kv: kv[1].lower()),
            "office_names": offices, "months": months, "percent": percent}
    if error:
        return render_template("editor/report.html", error=error, report=None, **page), 400
    try:
        data = _report(office, month, offices, today)
    except SQLAlchemyError:
        return render_template("editor/report.html", report=None,
                               error=_("Rapporten kunde inte läsas från händelsedatabasen. Försök igen om en stund."),
                               **page), 503
    return render_template("editor/report.html", report=data, charts=_charts(data), error=None, **page)


@bp.get("/rapport.csv")
@editor_required
def report_csv():
    """The same report as (section, key, value) CSV rows: what `kb report --csv` prints."""
    office, month, offices, today, error = _choices()
    if error:
        return Response(error + "\n", status=400, mimetype="text/plain")
    try:
        data = _report(office, month, offices, today)
    except SQLAlchemyError:
        return Response(_("Rapporten kunde inte läsas från händelsedatabasen.") + "\n", status=503,
                        mimetype="text/plain")
    out = io.StringIO()
    write_csv(report_rows(data), out)
    name = f"rapport-{office or 'alla'}-{month}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
