"""The articles of a served version: columns for every article, records parsed when shown."""
import datetime as dt
import json
import shutil

from indexer import article_table, versions
from kb.schema import Article
from search.articles import ArticleStore
from tests.conftest import TODAY


def _records(version):
    return [json.loads(line) for line in (version / "articles.jsonl").open(encoding="utf-8")]


def test_every_article_reads_back_whole_and_its_columns_match(built_data_dir):
    version = versions.current_version(built_data_dir)
    store, records = ArticleStore(version), _records(version)
    assert list(store) == [r["id"] for r in records] and len(store) == len(records)
    for record in records:
        article = store[record["id"]]
        assert article == Article.from_dict(record)
        row = store.row[article.id]
        for name in article_table.COLUMNS:
            value = getattr(article, name)
            expected = value.isoformat() if isinstance(value, dt.date) else value
            assert store.columns[name][row] == (expected or "" if name == "group" else expected), name
    assert "no-such-article" not in store and store.get("no-such-article") is None


def test_a_version_without_a_table_gets_the_same_one_from_its_records(built_data_dir, tmp_path):
    """Versions written before the article table existed are still served."""
    version = versions.current_version(built_data_dir)
    old = tmp_path / version.name
    shutil.copytree(version, old)
    (old / article_table.LINES_FILE).unlink()
    (old / article_table.COLUMNS_FILE).unlink()
    lines, columns = article_table.read(version)
    old_lines, old_columns = article_table.read(old)
    assert old_lines.start.tolist() == lines.start.tolist() and old_lines.end.tolist() == lines.end.tolist()
    assert old_columns == columns
    assert ArticleStore(old)["forskola-avgift"] == ArticleStore(version)["forskola-avgift"]


def test_a_version_with_the_table_in_one_json_file_is_read_the_same(built_data_dir, tmp_path):
    """Versions of before 2026-12 hold line offsets and columns in one article_table.json."""
    version = versions.current_version(built_data_dir)
    old = tmp_path / version.name
    shutil.copytree(version, old)
    lines, columns = article_table.read(version)
    (old / article_table.LINES_FILE).unlink()
    (old / article_table.COLUMNS_FILE).unlink()
    offsets = lines.start.tolist() + [int(lines.end[-1])]
    (old / article_table.LEGACY_TABLE_FILE).write_text(json.dumps({"offsets": offsets, "columns": columns}))
    old_lines, old_columns = article_table.read(old)
    assert old_lines.end.tolist() == lines.end.tolist() and old_columns == columns
    assert ArticleStore(old)["forskola-avgift"] == ArticleStore(version)["forskola-avgift"]


def test_residents_see_public_articles_still_valid_and_handlers_see_all(built_data_dir):
    store = ArticleStore(versions.current_version(built_data_dir))
    articles = [store[article_id] for article_id in store]
    public = {store.ids[row] for row in store.visible_rows("public", TODAY)}
    assert public == {a.id for a in articles if not a.is_internal and not a.is_expired(TODAY)}
    assert "forskola-avgift" not in public                     # valid_until 2020-12-31
    assert "forskola-avgift" in {store.ids[r] for r in store.visible_rows("public", dt.date(2020, 12, 31))}
    assert any(a.is_internal for a in articles) and not any(store[i].is_internal for i in public)
    assert len(store.visible_rows("internal", TODAY)) == len(store)


def test_filter_columns_select_what_the_articles_say(built_data_dir):
    store = ArticleStore(versions.current_version(built_data_dir))
    articles = [store[article_id] for article_id in store]
    parking = store.at(store.rows_where(office="parkering"))
    assert parking and [a.id for a in parking] == [a.id for a in articles if a.office == "parkering"]
    assert len(store.rows_where(office=None)) == len(store)
    assert store.groups == sorted({a.group for a in articles if a.group}, key=str.lower)
    assert store.languages == sorted({a.language for a in articles}) and len(store.languages) > 1
    for original, translated in store.translations.items():
        assert all(store[t].translation_of == original for t in translated)
    assert sum(map(len, store.translations.values())) == sum(1 for a in articles if a.translation_of)


def test_the_build_writes_each_answer_s_plain_text_and_searches_never_render_it(built_data_dir, encoder, monkeypatch,
                                                                               tmp_path):
    """Snippets come from the record's plain text; a version of before record-3 still gets it, rendered."""
    from kb.markdown import plain_text
    from search import articles
    from search import searcher as searcher_module
    from search.searcher import Searcher

    version = versions.current_version(built_data_dir)
    records = _records(version)
    assert all(r["plain"] == plain_text(r["public_body"]) for r in records)
    expected = {r["id"]: r["plain"] for r in records}
    monkeypatch.setattr(articles, "plain_text", lambda _markdown: 1 / 0)   # any render at search time fails
    monkeypatch.setattr(searcher_module, "plain_text", lambda _markdown: 1 / 0)
    hits = Searcher(built_data_dir, encoder, today=TODAY).search("grovsopor", method="keyword").hits
    assert hits and hits[0].snippet and all(h.id in expected for h in hits)
    assert ArticleStore(version).plain(hits[0].id) == expected[hits[0].id]
    monkeypatch.undo()
    old = _copy_without_plain(version, tmp_path / "old-records")
    assert ArticleStore(old).plain(hits[0].id) == expected[hits[0].id]


def test_an_article_of_another_version_gets_its_own_answer_as_plain_text(built_data_dir, encoder):
    """A version switched between finding an article and showing it: its text, not the new version's."""
    from kb.parse_cache import shallow_copy
    from search.searcher import Searcher

    snapshot = Searcher(built_data_dir, encoder, today=TODAY).snapshot
    served = next(iter(snapshot.articles.values()))
    assert snapshot.plain_answer(served) == snapshot.articles.plain(served.id)
    older = shallow_copy(served)
    older.public_body = "Ett **äldre** svar."
    assert snapshot.plain_answer(older) == "Ett äldre svar."


def _copy_without_plain(version, target):
    """A copy of a version whose records have no plain text, as builds before record-3 wrote them."""
    shutil.copytree(version, target)
    lines = [json.dumps({k: v for k, v in json.loads(line).items() if k != "plain"}, ensure_ascii=False)
             for line in (target / "articles.jsonl").open(encoding="utf-8")]
    (target / "articles.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    for name in ("article_lines.npy", "article_table.json"):
        (target / name).unlink(missing_ok=True)   # line offsets changed: read them from the records again
    return target
