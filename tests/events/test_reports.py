"""Monthly reports on SQLite and PostgreSQL: the numbers, office attribution, demo seeding, migration 0002,
and the page, the CSV download and `kb report` agreeing on the same events."""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select

from kb.hours import STOCKHOLM
from kb.loader import load_content
from tests.conftest import FIXTURE_CONTENT, TODAY
from web.events import demo, tables
from web.events.reports import ReportError, month_bounds, office_report, parse_month, report_rows
from web.events.store import alembic_config, current_revision, head_revision

MONTH = "2026-10"
CORPUS = load_content(FIXTURE_CONTENT, today=TODAY)
OFFICES = {key: o.name for key, o in CORPUS.offices.items()}


def utc(month_day_hour: str) -> dt.datetime:
    """'2026-10-05 10:00' Stockholm time as the store keeps it (naive UTC)."""
    local = dt.datetime.fromisoformat(month_day_hour).replace(tzinfo=STOCKHOLM)
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def search(at, query, hits, channel="resident", source="page", office=None, low=False, opened=None, demo=False):
    return {"created_at": utc(at), "channel": channel, "source": source, "office": office, "language": None,
            "query": query, "hit_ids": json.dumps(hits), "top_confidence": 0.2 if low else 0.8,
            "hit_count": len(hits), "low_confidence": low or not hits, "token": None, "opened_article": opened,
            "demo": demo}


def outcome(at, article_id, office, kind, referred_to=None, group=None):
    return {"created_at": utc(at), "article_id": article_id, "office": office, "answer_group": group,
            "outcome": kind, "referred_to": referred_to, "query": "q"}


def insert_rows(engine, table, rows):
    with engine.begin() as conn:
        conn.execute(insert(table), rows)


@pytest.fixture
def engine(store_url, make_store):
    store = make_store(store_url)
    assert store.upgrade()
    return store.engine


def seed_known(engine) -> None:
    """A month whose every figure is known by hand (see the assertions)."""
    insert_rows(engine, tables.search_events, [
        # forskola: filtered to it (even without hits), or unfiltered with a forskola article on top
        search("2026-10-01 00:30", "dagis kö", ["forskola-ko", "forskola-avgift"], opened="forskola-ko"),
        search("2026-10-05 10:00", "dagis kö", ["forskola-ko"]),
        search("2026-10-05 11:00", "förskola avgift", ["forskola-avgift"], channel="handler", opened="forskola-avgift"),
        search("2026-10-06 09:00", "simhall", [], office="forskola", channel="handler"),
        search("2026-10-07 09:00", "simhall", ["forskola-oppettider"], low=True),
        # as-you-type: "dag" then "dagis" within a minute: one question ("dagis"), two searches
        search("2026-10-08 09:00", "dag", ["forskola-ko"], source="live"),
        {**search("2026-10-08 09:00", "dagis", ["forskola-ko"], source="live", opened="forskola-ko"),
         "created_at": utc("2026-10-08 09:00") + dt.timedelta(seconds=3)},
        # avfall and nobody's
        search("2026-10-05 12:00", "grovsopor", ["grovsopor-lamna", "forskola-ko"]),
        search("2026-10-05 12:30", "surdeg", []),
        # outside the month: 30 September 23:30 Stockholm, 1 November 00:10 Stockholm
        search("2026-09-30 23:30", "dagis kö", ["forskola-ko"]),
        search("2026-11-01 00:10", "dagis kö", ["forskola-ko"]),
    ])
    insert_rows(engine, tables.outcomes, [
        outcome("2026-10-05 10:00", "forskola-ko", "forskola", "solved", group="Förskola"),
        outcome("2026-10-06 10:00", "forskola-ko", "forskola", "solved", group="Förskola"),
        outcome("2026-10-07 10:00", "forskola-avgift", "forskola", "referred", "avfall", group="Förskola"),
        outcome("2026-10-08 10:00", "forskola-avgift", "forskola", "callback"),
        outcome("2026-10-08 11:00", "grovsopor-lamna", "avfall", "solved"),
        outcome("2026-09-15 10:00", "forskola-ko", "forskola", "solved"),       # trend: September 1/2
        outcome("2026-09-16 10:00", "forskola-ko", "forskola", "callback"),
        outcome("2026-05-04 10:00", "forskola-ko", "forskola", "solved"),       # May: 1/1, first trend month
        outcome("2026-04-30 10:00", "forskola-ko", "forskola", "solved"),       # before the six months
    ])
    insert_rows(engine, tables.feedback, [
        {"created_at": utc("2026-10-05 10:00"), "article_id": "forskola-ko", "office": "forskola", "helped": h,
         "comment": c, "session_hash": f"{i:064d}"}
        for i, (h, c) in enumerate([(True, None), (True, "Tydligt"), (False, "Fel avgift"), (True, None)])])
    insert_rows(engine, tables.flags, [
        {"created_at": utc("2026-10-12 10:00"), "article_id": "forskola-avgift", "office": "forskola",
         "kind": "outdated", "reason": "Ny taxa"},
        {"created_at": utc("2026-10-12 10:00"), "article_id": "grovsopor-lamna", "office": "avfall",
         "kind": "wrong", "reason": None}])
    insert_rows(engine, tables.missing_reports, [
        {"created_at": utc("2026-10-13 10:00"), "channel": "handler", "office": "forskola", "question": "simhall",
         "note": "tre samtal"},
        {"created_at": utc("2026-10-13 10:00"), "channel": "handler", "office": None, "question": "pass",
         "note": None}])


def test_office_report_numbers_and_attribution(engine):
    seed_known(engine)
    report = office_report(engine, "forskola", MONTH, articles=CORPUS.articles, offices=OFFICES, today=TODAY)
    s = report["searches"]
    assert s["total"] == 7 and s["by_channel"] == {"resident": 5, "handler": 2}
    assert s["by_source"] == {"page": 5, "live": 2, "api": 0}
    assert s["questions"] == 6                          # "dag" was a fragment of "dagis"
    assert s["no_answer"] == 2 and s["no_answer_rate"] == round(2 / 6, 3)
    assert s["with_hits"] == 5 and s["opened"] == 3 and s["opened_rate"] == 0.6
    assert s["top_questions"][0] == ("dagis kö", 2)
    assert ("simhall", 2, 2) in s["unanswered"]         # twice, on two days
    assert dict((d, r + h) for d, r, h in s["by_day"])["2026-10-01"] == 1   # 00:30 Stockholm is October
    fcr = report["fcr"]
    assert (fcr["solved"], fcr["referred"], fcr["callback"], fcr["total"], fcr["rate"]) == (2, 1, 1, 4, 0.5)
    assert [t[0] for t in fcr["trend"]] == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert fcr["trend"][0] == ("2026-05", 1, 1, 1.0) and fcr["trend"][1] == ("2026-06", 0, 0, None)
    assert fcr["trend"][4] == ("2026-09", 1, 2, 0.5) and fcr["trend"][5] == ("2026-10", 2, 4, 0.5)
    assert report["outcomes_by_group"] == [("Förskola", 2, 1, 0, 3, 0.667), ("(ingen svarsgrupp)", 0, 0, 1, 1, 0.0)]
    assert report["referrals"] == [("avfall", 1)]
    fb = report["feedback"]
    assert (fb["yes"], fb["no"], fb["rate"]) == (3, 1, 0.75)
    assert fb["by_article"] == [("forskola-ko", "Hur ställer jag mitt barn i kö till förskola?", 3, 1, 0.75)]
    assert len(fb["comments"]) == 2
    assert report["flags"] == [("2026-10-12", "forskola-avgift", "Vad kostar förskola?", "outdated", "Ny taxa")]
    assert report["missing"] == [("2026-10-13", "forskola", "simhall", "tre samtal")]
    assert report["demo"] is False and report["gaps"] is None
    assert all(row[2] == "forskola" for row in report["review"])

    whole = office_report(engine, None, MONTH, articles=CORPUS.articles, offices=OFFICES, today=TODAY)
    assert whole["searches"]["total"] == 9 and whole["fcr"]["total"] == 5 and len(whole["missing"]) == 2
    avfall = office_report(engine, "avfall", MONTH, articles=CORPUS.articles, offices=OFFICES, today=TODAY,
                           gaps=lambda engine, office, start, end: [(f"{office} {start:%Y-%m}", 3, 2)])
    assert avfall["searches"]["total"] == 1 and avfall["fcr"]["rate"] == 1.0
    assert avfall["gaps"] == [("avfall 2026-09", 3, 2)]     # the month starts 30 Sep 22:00 UTC
    assert ("gaps", "avfall 2026-09", 3) in report_rows(avfall)


def test_month_and_office_are_validated(engine, runner, kb_cli, tmp_path):
    for bad in ("2026-13", "2026-1", "oktober", "", "1999-12"):
        with pytest.raises(ReportError, match="YYYY-MM"):
            parse_month(bad)
    with pytest.raises(ReportError, match="avfall, forskola, parkering"):
        office_report(engine, "nope", MONTH, articles=CORPUS.articles, offices=OFFICES, today=TODAY)
    env = {"KB_CONTENT_DIR": str(FIXTURE_CONTENT), "KB_DATA_DIR": str(tmp_path),
           "KB_EVENTS_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}", "KB_TODAY": TODAY.isoformat()}
    result = runner.invoke(kb_cli, ["report", "--month", "2026-13"], env=env)
    assert result.exit_code == 2 and "use YYYY-MM" in result.output and "Traceback" not in result.output
    result = runner.invoke(kb_cli, ["report", "--office", "nope"], env=env)
    assert result.exit_code == 2 and "choose one of: avfall, forskola, parkering" in result.output


def _migrate(engine, direction: str, revision: str) -> None:
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        getattr(command, direction)(config, revision)


def test_migration_0002_upgrades_a_0001_store(store_url, make_store):
    target = make_store(store_url).engine
    _migrate(target, "upgrade", "0001")
    assert current_revision(target) == "0001"
    with target.begin() as conn:
        conn.exec_driver_sql("INSERT INTO flags (created_at, article_id, office, kind, reason) "
                             "VALUES ('2026-10-01 10:00:00', 'a', 'forskola', 'wrong', 'r')")
    _migrate(target, "upgrade", "head")
    assert current_revision(target) == head_revision() == "0002"
    found = inspect(target)
    for table in tables.TABLES:
        assert "demo" in {c["name"] for c in found.get_columns(table.name)}
    assert {"token", "opened_article"} <= {c["name"] for c in found.get_columns("search_events")}
    assert any(ix["column_names"] == ["token"] for ix in found.get_indexes("search_events"))
    with target.connect() as conn:
        assert conn.execute(select(tables.flags.c.demo)).scalar_one() is False   # old rows are real events
    _migrate(target, "downgrade", "0001")
    assert "demo" not in {c["name"] for c in inspect(target).get_columns("flags")}


def _demo_rows(engine):
    with engine.connect() as conn:
        return {t.name: conn.execute(select(t).order_by(t.c.id)).all() for t in tables.TABLES}


def test_demo_seed_is_realistic_deterministic_and_idempotent(engine, searcher):
    first = demo.seed_month(engine, searcher, MONTH, seed=7, per_day=8)
    rows = _demo_rows(engine)
    assert {name: len(r) for name, r in rows.items()} == first
    assert first["search_events"] > 150 and first["outcomes"] > 20 and first["flags"] >= 3
    assert first["missing_reports"] >= 4 and first["feedback"] > 0
    start, end = month_bounds(MONTH)
    for event in rows["search_events"]:
        local = event.created_at.replace(tzinfo=dt.timezone.utc).astimezone(STOCKHOLM)
        assert event.demo and start <= event.created_at < end
        assert local.weekday() < 5 and 8 <= local.hour < 17
        assert re.fullmatch(r"[0-9a-f]{16}", event.token)
    outcomes = [r for r in rows["outcomes"] if start <= r.created_at < end]
    solved = sum(r.outcome == "solved" for r in outcomes) / len(outcomes)
    assert 0.6 < solved < 0.95
    assert {r.outcome for r in rows["outcomes"]} <= set(tables.OUTCOMES)
    votes = rows["feedback"]
    assert sum(v.helped for v in votes) / len(votes) > 0.6
    assert any(r.created_at < start for r in rows["outcomes"])      # history for the FCR trend

    again = demo.seed_month(engine, searcher, MONTH, seed=7, per_day=8)
    assert again["search_events"] == first["search_events"]
    rows_again = _demo_rows(engine)
    assert len(rows_again["search_events"]) == first["search_events"]          # replaced, not doubled
    assert [(r.created_at, r.query) for r in rows_again["search_events"]] == \
        [(r.created_at, r.query) for r in rows["search_events"]]              # same seed, same month
    assert len(rows_again["outcomes"]) == len(rows["outcomes"])

    report = office_report(engine, None, MONTH, articles=searcher.snapshot.articles, offices=OFFICES, today=TODAY)
    assert report["demo"] and report["searches"]["total"] == first["search_events"]
    assert report["searches"]["unanswered"] and report["referrals"]
    assert sum(1 for t in report["fcr"]["trend"] if t[2]) == 6

    insert_rows(engine, tables.flags, [{"created_at": utc("2026-10-20 10:00"), "article_id": "forskola-ko",
                                        "office": "forskola", "kind": "unclear", "reason": "äkta"}])
    with pytest.raises(demo.DemoError, match="real events"):
        demo.seed_month(engine, searcher, MONTH, seed=7, per_day=8)
    assert demo.seed_month(engine, searcher, MONTH, seed=7, per_day=8, force=True)["search_events"]
    assert demo.clear_demo(engine) > 0
    left = _demo_rows(engine)
    assert sum(len(r) for r in left.values()) == 1 and left["flags"][0].reason == "äkta"


def test_kb_demo_seed_and_clear_commands(runner, kb_cli, built_data_dir, tmp_path):
    env = {"KB_CONTENT_DIR": str(FIXTURE_CONTENT), "KB_DATA_DIR": str(built_data_dir),
           "KB_EVENTS_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}", "KB_TODAY": TODAY.isoformat()}
    result = runner.invoke(kb_cli, ["demo", "seed", "--per-day", "4", "--seed", "3"], env=env)
    assert result.exit_code == 0, result.output
    assert "Demo events for 2026-10" in result.output          # the last full month before KB_TODAY
    result = runner.invoke(kb_cli, ["demo", "seed", "--if-empty"], env=env)
    assert result.exit_code == 0 and "already has events" in result.output
    result = runner.invoke(kb_cli, ["demo", "seed", "--month", "2026-99"], env=env)
    assert result.exit_code == 2 and "YYYY-MM" in result.output
    report = runner.invoke(kb_cli, ["report"], env=env)
    assert report.exit_code == 0 and "[DEMO DATA]" in report.output
    result = runner.invoke(kb_cli, ["demo", "clear"], env=env)
    assert result.exit_code == 0 and "Removed" in result.output
    assert "[DEMO DATA]" not in runner.invoke(kb_cli, ["report"], env=env).output


def _page_value(value: str, key: str) -> str:
    """How the page writes a CSV value: rates as '83,3 %', nothing to divide as a dash."""
    if value == "":
        return "–"
    if key.endswith("rate"):
        return f"{float(value) * 100:.1f}".replace(".", ",") + " %"
    return value


def test_page_csv_and_cli_agree(store_url, engine, searcher, built_data_dir, tmp_path, runner, kb_cli):
    from tests.web.conftest import PASSWORD, app_config, login
    from web import accounts, create_app

    seed_known(engine)
    demo.seed_month(engine, searcher, MONTH, seed=5, per_day=5, force=True)
    app = create_app(app_config(searcher, built_data_dir, tmp_path, KB_EVENTS_DATABASE_URL=store_url))
    with app.app_context():
        accounts.create_user("edna", PASSWORD, "editor")
    client = app.test_client()
    assert login(client, "edna").status_code == 303
    env = {"KB_CONTENT_DIR": str(FIXTURE_CONTENT), "KB_DATA_DIR": str(built_data_dir),
           "KB_EVENTS_DATABASE_URL": store_url, "KB_TODAY": TODAY.isoformat()}
    for office in ("forskola", None):
        args = ["report", "--month", MONTH] + (["--office", office] if office else [])
        cli_csv = runner.invoke(kb_cli, args + ["--csv"], env=env)
        assert cli_csv.exit_code == 0, cli_csv.output
        query = f"month={MONTH}" + (f"&office={office}" if office else "")
        web_csv = client.get(f"/redaktion/rapport.csv?{query}")
        assert web_csv.status_code == 200 and web_csv.mimetype == "text/csv"
        assert web_csv.get_data(as_text=True) == cli_csv.output
        rows = list(csv.reader(io.StringIO(cli_csv.output)))[1:]
        values = {(section, key): value for section, key, value in rows}
        assert values[("report", "demo")] == "yes" and int(values[("searches", "total")]) > 0

        text = runner.invoke(kb_cli, args, env=env).output
        for section, key, value in rows:
            if section != "report":
                shown = f"{float(value) * 100:.1f} %" if key.endswith("rate") and value else (value or "-")
                assert f"  {key}: {shown}" in text, (section, key)

        page = client.get(f"/redaktion/rapport?{query}").get_data(as_text=True)
        cells = {}
        for key, cell in re.findall(r'<td class="num" data-key="([^"]+)">([^<]*)</td>', page):
            cells.setdefault(html.unescape(key), set()).add(html.unescape(cell))
        checked = 0
        for section, key, value in rows:
            if section in ("searches", "searches_by_day", "fcr_trend", "outcomes_by_group", "referrals",
                           "feedback_by_article", "top_questions", "unanswered") or (section, key) in \
                    (("fcr", "rate"), ("feedback", "yes_rate")):
                assert cells.get(f"{section}/{key}") == {_page_value(value, key)}, (section, key, cells.get(
                    f"{section}/{key}"))
                checked += 1
        assert checked > 60
