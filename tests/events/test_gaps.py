"""The gap queue with the real model, a real index and a real event store: grouping, bursts, answers, drafts."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import yaml
from sqlalchemy import insert

from kb.loader import load_content, split_front_matter
from kb.redact import redact
from tests.conftest import FIXTURE_CONTENT, TODAY
from web.events import tables
from web.events.drafts import DraftError, draft_article, find_group
from web.events.gaps import collapse_bursts, gap_groups, load_candidates

MONDAY = dt.datetime(2026, 11, 2, 9, 0)   # naive UTC, as the store keeps it


@pytest.fixture
def engine(make_store, tmp_path):
    """An empty SQLite event store at the newest revision."""
    store = make_store(f"sqlite:///{tmp_path / 'events.db'}")
    assert store.upgrade()
    return store.engine


def add_search(engine, query: str, at: dt.datetime, *, channel: str = "resident", source: str = "page",
               office: str | None = None, low: bool = True, hits: int = 0) -> None:
    """One search event as web/events/capture.py records it (the query redacted first)."""
    with engine.begin() as conn:
        conn.execute(insert(tables.search_events).values(
            created_at=at, channel=channel, source=source, office=office, language=None, query=redact(query),
            hit_ids="[]", top_confidence=0.1 if hits else None, hit_count=hits, low_confidence=low))


def add_report(engine, question: str, at: dt.datetime, office: str | None = None) -> None:
    """One "saknat svar" report from a handler."""
    with engine.begin() as conn:
        conn.execute(insert(tables.missing_reports).values(
            created_at=at, channel="handler", office=office, question=redact(question), note=None))


def seed_three_questions(engine) -> None:
    """Bygglov for an altan (4 askings, 4 days), dogs on playgrounds (2, 2 days), charging an EV (2, 1 day)."""
    add_search(engine, "bygglov altan", MONDAY)
    add_search(engine, "Bygglov altan?", MONDAY + dt.timedelta(days=1))
    add_search(engine, "behöver jag bygglov för altan", MONDAY + dt.timedelta(days=2), channel="handler")
    add_report(engine, "bygglov för altan", MONDAY + dt.timedelta(days=3), office="parkering")
    add_search(engine, "får hundar vara på lekplatser", MONDAY, hits=3)
    add_search(engine, "hund på lekplats", MONDAY + dt.timedelta(days=1))
    add_search(engine, "var kan jag ladda elbil", MONDAY + dt.timedelta(hours=1))
    add_search(engine, "laddstolpe för elbil", MONDAY + dt.timedelta(hours=2))


def by_title(groups) -> dict:
    return {g.title: g for g in groups}


def containing(groups, phrasing: str):
    """The group with this phrasing among its examples."""
    found = [g for g in groups if phrasing in dict(g.examples)]
    assert len(found) == 1, [g.to_dict() for g in groups]
    return found[0]


@pytest.fixture
def store_engine(store_url, make_store):
    """The event store on SQLite and on PostgreSQL."""
    store = make_store(store_url)
    assert store.upgrade()
    return store.engine


def test_paraphrases_group_together_unrelated_apart_ranked_by_count_then_days(store_engine, searcher):
    seed_three_questions(store_engine)
    groups = gap_groups(store_engine, searcher)
    assert [g.title for g in groups] == ["bygglov altan", "får hundar vara på lekplatser", "laddstolpe för elbil"]
    altan, dogs, charging = groups
    assert altan.count == 4 and altan.days == 4 and altan.reports == 1
    assert dict(altan.examples) == {"bygglov altan": 2, "behöver jag bygglov för altan": 1, "bygglov för altan": 1}
    assert altan.channels == ["handler", "resident"]
    assert altan.offices == ["parkering"]                    # from the report's office
    assert altan.first_seen == MONDAY and altan.last_seen == MONDAY + dt.timedelta(days=3)
    assert dogs.count == 2 and dogs.days == 2 and charging.count == 2 and charging.days == 1
    assert len(altan.closest) == 3 and all({"id", "title", "office"} <= set(c) for c in altan.closest)
    assert charging.offices == [charging.closest[0]["office"]]   # no filter used: the closest article's office
    # The same events give the same ids on every call.
    assert [g.id for g in gap_groups(store_engine, searcher)] == [g.id for g in groups]
    assert len({g.id for g in groups}) == 3


def test_office_and_date_filters(engine, searcher):
    seed_three_questions(engine)
    everything = gap_groups(engine, searcher)
    parking = gap_groups(engine, searcher, office="parkering")
    assert "bygglov altan" in by_title(parking)                  # reported for parkering
    for key in ("parkering", "avfall", "forskola"):
        assert [g.id for g in gap_groups(engine, searcher, office=key)] == \
            [g.id for g in everything if key in g.offices]
    later = gap_groups(engine, searcher, since=dt.date(2026, 11, 3))   # Tuesday on
    assert containing(later, "bygglov för altan").count == 3
    assert not [g for g in later if "laddstolpe för elbil" in dict(g.examples)]
    first_day = gap_groups(engine, searcher, since=dt.date(2026, 11, 2), until=dt.date(2026, 11, 3))
    assert containing(first_day, "bygglov altan").count == 1


def test_typing_bursts_count_as_one_question(engine, searcher):
    typed = ["byg", "bygglo", "bygglov alt", "bygglov altan"]
    for second, text in enumerate(typed):
        add_search(engine, text, MONDAY + dt.timedelta(seconds=2 * second), source="live")
    add_search(engine, "bygglov altan", MONDAY + dt.timedelta(seconds=9))             # Enter: the page search
    add_search(engine, "hund", MONDAY + dt.timedelta(minutes=5), source="live")         # typed, then left
    add_search(engine, "hund på lekplats", MONDAY + dt.timedelta(minutes=5, seconds=30), source="live")  # too late
    add_search(engine, "bygg", MONDAY + dt.timedelta(minutes=9), source="live", channel="handler")
    add_search(engine, "bygglov", MONDAY + dt.timedelta(minutes=9, seconds=1), source="live")  # other channel
    queries = sorted(c.query for c in load_candidates(engine))
    assert queries == ["bygg", "bygglov", "bygglov altan", "hund", "hund på lekplats"]
    assert sum(g.count for g in gap_groups(engine, searcher)) == 5


def test_a_confident_later_search_ends_the_burst_of_an_unanswered_prefix(engine):
    add_search(engine, "parkering", MONDAY, source="live")
    add_search(engine, "parkeringstillstånd", MONDAY + dt.timedelta(seconds=3), source="live", low=False, hits=5)
    assert load_candidates(engine) == []
    rows = [type("Row", (), dict(created_at=MONDAY, channel="resident", source="page", query="par"))]
    assert collapse_bursts(rows) == rows   # page searches (Enter pressed) always count


def test_examples_stay_redacted(engine, searcher):
    add_search(engine, "bygglov altan ring mig på 070-123 45 67", MONDAY)
    add_search(engine, "bygglov altan 19850101-1234", MONDAY + dt.timedelta(days=1))
    add_report(engine, "bygglov altan, jag bor på Storgatan 12", MONDAY + dt.timedelta(days=2))
    text = json.dumps([g.to_dict() for g in gap_groups(engine, searcher)], ensure_ascii=False)
    assert "[telefon]" in text and "[personnummer]" in text and "[adress]" in text
    for secret in ("070-123 45 67", "19850101-1234", "Storgatan 12"):
        assert secret not in text


def _write_article(content_dir, office: str, name: str, text: str) -> None:
    (content_dir / office / name).write_text(text, encoding="utf-8")


def test_a_group_disappears_once_a_new_article_answers_it_and_a_draft_does_not(engine, encoder, content_copy,
                                                                              tmp_path, kb_cli, runner):
    from indexer.build import build_index
    from search.searcher import Searcher

    data_dir = tmp_path / "data"
    build_index(content_copy, data_dir, encoder, today=TODAY)
    searcher = Searcher(data_dir, encoder, today=TODAY)
    seed_three_questions(engine)
    altan = by_title(gap_groups(engine, searcher))["bygglov altan"]

    # A draft for the group: written, lint passes, but nobody finds it and the group stays.
    path = draft_article(altan, content_copy, "parkering", owner="Anna Redaktör")
    result = runner.invoke(kb_cli, ["--content-dir", str(content_copy), "lint"], env={"KB_TODAY": TODAY.isoformat()})
    assert result.exit_code == 0, result.output
    assert f"{path.relative_to(content_copy.parent)}" in result.output and "draft" in result.output
    build_index(content_copy, data_dir, encoder, today=TODAY)
    searcher.refresh(force=True)
    assert path.stem not in searcher.snapshot.articles
    for audience in ("public", "internal"):
        found = searcher.search("bygglov altan", audience=audience)
        assert path.stem not in [h.id for h in found.hits]
    assert "bygglov altan" in by_title(gap_groups(engine, searcher))

    # The editor finishes it: the group is answered and leaves the queue; the others stay.
    path.write_text("---\nid: bygglov-altan\ntitle: Behöver jag bygglov för att bygga en altan?\noffice: parkering\n"
                    "alt_questions: [bygglov altan, bygglov för altan]\n---\n"
                    "En altan som är högst 1,2 meter över marken och ligger minst 4,5 meter från tomtgränsen "
                    "behöver inget bygglov. Är den högre eller närmare grannen behöver du bygglov från "
                    "stadsbyggnadskontoret.\n", encoding="utf-8")
    build_index(content_copy, data_dir, encoder, today=TODAY)
    searcher.refresh(force=True)
    remaining = by_title(gap_groups(engine, searcher))
    assert "bygglov altan" not in remaining
    assert {"får hundar vara på lekplatser", "laddstolpe för elbil"} <= set(remaining)
    answered = by_title(gap_groups(engine, searcher, include_answered=True))["bygglov altan"]
    assert answered.closest[0]["id"] == "bygglov-altan"


def test_draft_file_front_matter_body_and_no_overwrite(engine, searcher, content_copy):
    seed_three_questions(engine)
    add_search(engine, "bygglov altan, ring 08-123 456 78", MONDAY + dt.timedelta(days=4))
    altan = by_title(gap_groups(engine, searcher))["bygglov altan"]
    path = draft_article(altan, content_copy, "parkering", owner="Anna Redaktör")
    assert path == content_copy / "parkering" / "bygglov-altan.md"
    text = path.read_text(encoding="utf-8")
    front, body, _ = split_front_matter(text)
    meta = yaml.safe_load(front)
    assert meta == {"id": "bygglov-altan", "title": "Bygglov altan", "office": "parkering",
                    "owner": "Anna Redaktör", "draft": True,
                    "alt_questions": ["behöver jag bygglov för altan", "bygglov för altan"]}
    assert "[telefon]" not in text and "08-123" not in text     # a phrasing with personal data is left out
    assert body.startswith("TODO: Skriv svaret") and "::: intern" in body
    corpus = load_content(content_copy, today=TODAY)
    assert corpus.errors == []
    assert corpus.articles["bygglov-altan"].draft
    assert any("draft" in i.message and i.severity == "warning" for i in corpus.issues
               if i.path.endswith("bygglov-altan.md"))

    with pytest.raises(DraftError) as refused:
        draft_article(altan, content_copy, "parkering", owner="Someone Else")
    assert refused.value.code == "exists" and str(path) in str(refused.value)
    assert path.read_text(encoding="utf-8") == text
    with pytest.raises(DraftError) as refused:
        draft_article(altan, content_copy, "finns-inte")
    assert refused.value.code == "unknown_office"
    with pytest.raises(DraftError) as refused:
        draft_article(altan, content_copy, "../parkering")
    assert refused.value.code == "unknown_office"
    with pytest.raises(DraftError) as refused:
        find_group([altan], "0000000000")
    assert refused.value.code == "unknown_group"


def test_draft_takes_the_office_owner_and_turns_the_phrasing_into_a_question(engine, searcher, content_copy):
    office_file = content_copy / "avfall" / "_office.yaml"
    office_file.write_text(office_file.read_text(encoding="utf-8") + "owner: Redaktör avfall\n", encoding="utf-8")
    add_search(engine, "hur byter jag till en mindre soptunna", MONDAY)
    group = gap_groups(engine, searcher)[0]
    path = draft_article(group, content_copy, "avfall")
    meta = yaml.safe_load(split_front_matter(path.read_text(encoding="utf-8"))[0])
    assert meta["title"] == "Hur byter jag till en mindre soptunna?"
    assert meta["owner"] == "Redaktör avfall" and path.name == "hur-byter-jag-till-en-mindre-soptunna.md"
    assert "alt_questions" not in meta
    assert load_content(content_copy, today=TODAY).errors == []


def test_finished_article_with_todo_left_gets_a_lint_warning(content_copy):
    _write_article(content_copy, "avfall", "klar.md", "---\nid: klar\ntitle: Klar?\noffice: avfall\n---\n"
                   "Svar.\nTODO: skriv mer\n")
    issues = [i for i in load_content(content_copy, today=TODAY).issues if i.path.endswith("klar.md")]
    assert [(i.line, i.severity) for i in issues] == [(7, "warning")] and "TODO" in issues[0].message


def test_kb_gap_list_and_draft(engine, content_copy, built_data_dir, tmp_path, kb_cli, runner):
    seed_three_questions(engine)
    env = {"KB_EVENTS_DATABASE_URL": str(engine.url), "KB_TODAY": TODAY.isoformat()}
    base = ["--content-dir", str(content_copy), "--data-dir", str(built_data_dir)]
    listed = runner.invoke(kb_cli, base + ["gap", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    groups = json.loads(listed.output)
    assert [g["title"] for g in groups][0] == "bygglov altan" and groups[0]["count"] == 4
    only = runner.invoke(kb_cli, base + ["gap", "list", "--office", "parkering", "--since", "2026-11-01"], env=env)
    parking = [g for g in groups if "parkering" in g["offices"]]
    assert only.exit_code == 0 and "bygglov altan" in only.output and f"\n{len(parking)} gap groups" in only.output
    assert "får hundar" not in only.output                         # closest to a förskola article
    bad = runner.invoke(kb_cli, base + ["gap", "list", "--since", "2026-13-01"], env=env)
    assert bad.exit_code == 2 and "not a date" in bad.output

    drafted = runner.invoke(kb_cli, base + ["gap", "draft", groups[0]["id"], "--owner", "Anna"], env=env)
    assert drafted.exit_code == 0, drafted.output
    path = content_copy / "parkering" / "bygglov-altan.md"
    assert str(path) in drafted.output and "owner: Anna" in path.read_text(encoding="utf-8")
    again = runner.invoke(kb_cli, base + ["gap", "draft", groups[0]["id"]], env=env)
    assert again.exit_code == 1 and "already exists" in again.output
    unknown = runner.invoke(kb_cli, base + ["gap", "draft", "0000000000"], env=env)
    assert unknown.exit_code == 1 and "no gap group" in unknown.output
    assert FIXTURE_CONTENT.joinpath("parkering", "bygglov-altan.md").exists() is False
