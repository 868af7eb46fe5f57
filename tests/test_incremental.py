"""Incremental builds: an edit costs one article, and the result is the index a full build would make."""
import datetime as dt
import gc
import json
import shutil

import numpy as np

from indexer import chunk_table, versions
from indexer.ann.factory import create_ann
from indexer.build import build_index
from indexer.keyword_index import segment_count
from kb.loader import load_content
from indexer.previous import DigestMemo, article_digest
from kb.parse_cache import ParseCache, shallow_copy
from search.searcher import Searcher
from tests.conftest import TODAY

QUERIES = ["missad sophämtning", "parkeringstillstånd rörelsehinder", "kompostera trädgårdsavfall",
           "barnomsorg öppettider", "grovsopor soffa", "hur ansöker jag om bygglov"]


def _edit_corpus(content):
    """One article edited, one removed, one added: what a day of editing looks like."""
    path = content / "avfall" / "missad-hamtning.md"
    path.write_text(path.read_text(encoding="utf-8").replace("två arbetsdagar", "tre arbetsdagar"), encoding="utf-8")
    (content / "avfall" / "kompost.md").write_text(
        "---\nid: kompost\ntitle: Får jag kompostera trädgårdsavfall?\noffice: avfall\n---\n"
        "Ja, kompostering av trädgårdsavfall är tillåten på den egna tomten.\n", encoding="utf-8")
    removed = next(p for p in sorted((content / "avfall").glob("*.md"))
                   if p.name not in ("missad-hamtning.md", "kompost.md"))
    removed_id = next(line.split(":", 1)[1].strip() for line in removed.read_text(encoding="utf-8").splitlines()
                      if line.startswith("id:"))
    removed.unlink()
    return removed_id


def stored_vectors(version_dir):
    """The chunk vectors a version serves (from its FAISS index)."""
    manifest = versions.read_manifest(version_dir)
    ann = create_ann(manifest["vector_backend"], manifest["model"]["dimension"])
    ann.load(version_dir / "vectors.faiss")
    return np.array(ann.vectors())


def _answers(data_dir, encoder) -> dict:
    searcher = Searcher(data_dir, encoder, today=TODAY)
    return {(query, method): [hit.id for hit in searcher.search(query, k=5, method=method,
                                                                  audience="internal").hits]
            for query in QUERIES for method in ("keyword", "vector", "hybrid")}


def test_an_edit_reembeds_one_article_and_serves_what_a_full_build_serves(tmp_path, content_copy, encoder):
    incremental_dir, full_dir = tmp_path / "incremental", tmp_path / "full"
    build_index(content_copy, incremental_dir, encoder, today=TODAY)
    removed_id = _edit_corpus(content_copy)
    report = build_index(content_copy, incremental_dir, encoder, today=TODAY)
    # The edited passage and the new article's title and passage; everything else is copied.
    assert report.embedded == 3 and report.reused == report.chunks - 3
    full = build_index(content_copy, full_dir, encoder, today=TODAY, full=True)
    assert (report.articles, report.chunks) == (full.articles, full.chunks)

    answers = _answers(incremental_dir, encoder)
    assert answers == _answers(full_dir, encoder)
    assert answers[("kompostera trädgårdsavfall", "keyword")][0] == "kompost"
    assert not any(removed_id in ids for ids in answers.values())

    new, fresh = versions.current_version(incremental_dir), versions.current_version(full_dir)
    assert segment_count(new / "keyword") == 2 and segment_count(fresh / "keyword") == 1
    for name in ("chunks.jsonl", "articles.jsonl", "digests.json"):
        assert (new / name).read_bytes() == (fresh / name).read_bytes(), name
    np.testing.assert_allclose(stored_vectors(new), stored_vectors(fresh), atol=1e-5)
    ours, theirs = chunk_table.read(new), chunk_table.read(fresh)
    for column in ("article", "kind", "internal", "keys", "offsets"):
        assert np.array_equal(getattr(ours, column), getattr(theirs, column)), column
    stored = sorted(p.relative_to(fresh).as_posix() for p in fresh.glob("sparse_*/**/*.npy"))
    assert stored == sorted(p.relative_to(new).as_posix() for p in new.glob("sparse_*/**/*.npy"))
    assert "sparse_chunks/norms.npy" in stored and "sparse_articles/public/data.npy" in stored
    for name in stored:
        np.testing.assert_allclose(np.load(new / name).astype(float), np.load(fresh / name).astype(float),
                                   atol=2e-3, err_msg=name)


def _article_lines(data_dir) -> dict:
    version = versions.current_version(data_dir)
    return {json.loads(line)["id"]: json.loads(line)
            for line in (version / "articles.jsonl").read_text(encoding="utf-8").splitlines()}


def test_an_unchanged_article_s_record_follows_the_ids_its_links_point_to(tmp_path, content_copy, encoder):
    """Unchanged articles keep their record, until an article they point to is removed."""
    build_index(content_copy, tmp_path / "incremental", encoder, today=TODAY)
    path = content_copy / "avfall" / "missad-hamtning.md"
    path.write_text(path.read_text(encoding="utf-8").replace("två arbetsdagar", "tre arbetsdagar"), encoding="utf-8")
    build_index(content_copy, tmp_path / "incremental", encoder, today=TODAY)
    build_index(content_copy, tmp_path / "full", encoder, today=TODAY, full=True)
    assert (versions.current_version(tmp_path / "incremental") / "articles.jsonl").read_bytes() == \
        (versions.current_version(tmp_path / "full") / "articles.jsonl").read_bytes()
    assert "tre arbetsdagar" in _article_lines(tmp_path / "incremental")["missad-hamtning"]["public_body"]
    assert _article_lines(tmp_path / "incremental")["parkeringstillstand-rorelsehindrad"]["related"] == \
        ["felparkeringsavgift-bestrida"]

    (content_copy / "parkering" / "felparkeringsavgift.md").unlink()
    build_index(content_copy, tmp_path / "incremental", encoder, today=TODAY)
    records = _article_lines(tmp_path / "incremental")
    assert "felparkeringsavgift-bestrida" not in records
    assert records["parkeringstillstand-rorelsehindrad"]["related"] == []


def test_an_office_change_reindexes_its_articles(tmp_path, content_copy, encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    before = Searcher(tmp_path, encoder, today=TODAY)
    assert not before.search("missad sophämtning", group="Sophämtning och återvinning", method="keyword").hits
    office = content_copy / "avfall" / "_office.yaml"
    office.write_text(office.read_text(encoding="utf-8") + "group: Sophämtning och återvinning\n", encoding="utf-8")
    report = build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert report.embedded == 0   # the texts did not change, only the answer group of two articles
    searcher = Searcher(tmp_path, encoder, today=TODAY)
    hits = searcher.search("missad sophämtning", group="Sophämtning och återvinning", method="keyword").hits
    assert {hit.id for hit in hits} == {"missad-hamtning", "grovsopor-lamna"}


def test_the_parse_cache_rereads_only_edited_files_and_still_reports_their_problems(content_copy):
    cache = ParseCache()
    first = load_content(content_copy, today=TODAY, cache=cache)
    assert cache.misses > 10 and cache.hits == 0
    cache.hits = cache.misses = 0
    again = load_content(content_copy, today=TODAY, cache=cache)
    assert cache.misses == 0 and again.articles.keys() == first.articles.keys()
    assert [str(i) for i in again.issues] == [str(i) for i in first.issues]

    broken = content_copy / "avfall" / "missad-hamtning.md"
    broken.write_text("---\nid: [\n---\n", encoding="utf-8")
    cache.hits = cache.misses = 0
    third = load_content(content_copy, today=TODAY, cache=cache)
    assert cache.misses == 1
    assert any("missad-hamtning.md:2: malformed YAML" in str(issue) for issue in third.errors)
    assert "missad-hamtning" not in third.articles and len(third.articles) == len(first.articles) - 1


def test_a_cache_kept_in_memory_never_keeps_what_the_loader_derived_from_other_files(content_copy):
    """As in `kb index --watch`: references and the office's answer group follow the other files."""
    cache = ParseCache()
    assert load_content(content_copy, today=TODAY, cache=cache).articles[
        "parkeringstillstand-rorelsehindrad"].related == ["felparkeringsavgift-bestrida"]
    target = content_copy / "parkering" / "felparkeringsavgift.md"
    saved = target.read_text(encoding="utf-8")
    target.unlink()
    assert load_content(content_copy, today=TODAY, cache=cache).articles[
        "parkeringstillstand-rorelsehindrad"].related == []
    target.write_text(saved, encoding="utf-8")
    again = load_content(content_copy, today=TODAY, cache=cache)
    assert again.articles["parkeringstillstand-rorelsehindrad"].related == ["felparkeringsavgift-bestrida"]

    group_before = again.articles["missad-hamtning"].group
    office = content_copy / "avfall" / "_office.yaml"
    office.write_text(office.read_text(encoding="utf-8") + "group: Sophämtning och återvinning\n", encoding="utf-8")
    cache.hits = cache.misses = 0
    after = load_content(content_copy, today=TODAY, cache=cache)
    assert cache.misses == 1   # only the office file was read again
    assert after.articles["missad-hamtning"].group == "Sophämtning och återvinning" != group_before


def test_a_watcher_s_build_reads_again_the_files_and_folders_it_was_told_changed(content_copy):
    cache = ParseCache()
    load_content(content_copy, today=TODAY, cache=cache)
    path = content_copy / "avfall" / "missad-hamtning.md"
    for told, wording in ((f"{content_copy.name}/avfall", "tre arbetsdagar"),
                          (f"{content_copy.name}/avfall/missad-hamtning.md", "fyra arbetsdagar")):
        path.write_text(path.read_text(encoding="utf-8").replace("arbetsdagar", "X").replace(
            "två X", wording).replace("tre X", wording), encoding="utf-8")
        cache.changed, cache.hits, cache.misses = {told}, 0, 0
        corpus = load_content(content_copy, today=TODAY, cache=cache)
        assert cache.misses == 1 and wording in corpus.articles["missad-hamtning"].public_body
    cache.changed, cache.misses = None, 0
    assert "fyra arbetsdagar" in load_content(content_copy, today=TODAY, cache=cache).articles[
        "missad-hamtning"].public_body and cache.misses == 0


def test_the_parse_cache_serves_the_next_day_with_that_day_s_review_warnings(tmp_path, content_copy):
    cache = ParseCache()
    load_content(content_copy, today=TODAY, cache=cache)
    cache.save(tmp_path / "parsed.pickle")
    later = TODAY + dt.timedelta(days=3650)   # every article's review is overdue by then
    cached = ParseCache.load(tmp_path / "parsed.pickle")
    from_cache = load_content(content_copy, today=later, cache=cached)
    assert cached.misses == 0 and cached.hits > 10
    fresh = load_content(content_copy, today=later)
    assert [str(i) for i in from_cache.issues] == [str(i) for i in fresh.issues]
    assert any("review overdue" in str(i) for i in from_cache.issues)
    (tmp_path / "parsed.pickle").write_bytes(b"not a pickle")
    assert not ParseCache.load(tmp_path / "parsed.pickle").entries
    assert gc.isenabled()   # switched off while unpickling only, also when that fails


def test_a_saved_cache_gives_the_articles_a_fresh_parse_gives(tmp_path, content_copy):
    cache = ParseCache()
    load_content(content_copy, today=TODAY, cache=cache)
    cache.save(tmp_path / "parsed.pickle")
    loaded = ParseCache.load(tmp_path / "parsed.pickle")
    from_cache = load_content(content_copy, today=TODAY, cache=loaded)
    fresh = load_content(content_copy, today=TODAY)
    assert loaded.misses == 0 and from_cache.articles == fresh.articles and from_cache.offices == fresh.offices
    articles = fresh.articles.values()   # the fields stored in another form are all exercised
    assert all(any(getattr(a, name) for a in articles) for name in ("links", "reviewed", "valid_until",
                                                                      "internal_notes", "related"))


def test_a_saved_cache_keeps_the_office_groups_and_still_follows_a_group_change(tmp_path, content_copy):
    """A fresh process (`kb index`) takes the saved articles as they are, office group included."""
    cache = ParseCache()
    first = load_content(content_copy, today=TODAY, cache=cache)
    cache.save(tmp_path / "parsed.pickle")
    loaded = ParseCache.load(tmp_path / "parsed.pickle")
    carried = {entry[1][0].id: entry[1][0] for rel, entry in loaded.entries.items() if rel in loaded.grouped}
    again = load_content(content_copy, today=TODAY, cache=loaded)
    assert carried and all(again.articles[key] is article for key, article in carried.items())
    assert {a.id: a.group for a in again.articles.values()} == {a.id: a.group for a in first.articles.values()}
    old_group = first.articles["missad-hamtning"].group
    office = content_copy / "avfall" / "_office.yaml"
    office.write_text(office.read_text(encoding="utf-8") + "group: Sophämtning och återvinning\n", encoding="utf-8")
    after = load_content(content_copy, today=TODAY, cache=ParseCache.load(tmp_path / "parsed.pickle"))
    assert after.articles["missad-hamtning"].group == "Sophämtning och återvinning"
    assert after.articles["grovsopor-lamna"].group == "Sophämtning och återvinning"
    # The same cache in memory (`kb index --watch`): the corpus it gave before keeps the old group.
    kept = load_content(content_copy, today=TODAY, cache=cache)
    assert kept.articles["missad-hamtning"].group == "Sophämtning och återvinning"
    assert first.articles["missad-hamtning"].group == old_group != "Sophämtning och återvinning"
    assert load_content(content_copy, today=TODAY, cache=cache).articles["missad-hamtning"] is \
        kept.articles["missad-hamtning"]


def test_a_damaged_current_version_means_a_full_build_not_a_wrong_one(tmp_path, content_copy, encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    current = versions.current_version(tmp_path)
    (current / "chunk_table.npz").write_bytes(b"garbage")   # size changes: the version is no longer complete
    report = build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert report.embedded == report.chunks
    assert Searcher(tmp_path, encoder, today=TODAY).search("missad sophämtning").hits


def test_the_chunk_table_of_an_older_version_is_read_from_chunks_jsonl(tmp_path, built_data_dir):
    version = versions.current_version(built_data_dir)
    stored = chunk_table.read(version)
    older = tmp_path / "older"
    older.mkdir()
    shutil.copy(version / "chunks.jsonl", older / "chunks.jsonl")
    article_ids = [line.split('"id": "', 1)[1].split('"', 1)[0]
                   for line in (version / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    derived = chunk_table.read(older, {article_id: i for i, article_id in enumerate(article_ids)})
    for column in ("article", "kind", "internal", "keys", "offsets"):
        assert np.array_equal(getattr(stored, column), getattr(derived, column)), column
    texts = chunk_table.ChunkTexts(version, stored.offsets)
    assert texts.record(len(stored) - 1)["article_id"] == article_ids[stored.article[-1]]


def test_sparse_rows_of_another_head_are_made_again_not_reused(tmp_path, content_copy, encoder):
    """An index whose sparse rows came from another head (e.g. the float32 one before 8 bits) is re-embedded."""
    import json

    build_index(content_copy, tmp_path, encoder, today=TODAY)
    manifest_file = versions.current_version(tmp_path) / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    assert manifest["sparse"]["head"] == encoder.sparse_fingerprint
    assert build_index(content_copy, tmp_path, encoder, today=TODAY).embedded == 0   # same head: all reused
    manifest_file = versions.current_version(tmp_path) / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["sparse"]["head"] = "an-older-head"
    manifest_file.write_text(json.dumps(manifest))
    report = build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert report.embedded == report.chunks > 0


def test_vectors_are_stored_once_and_an_older_version_s_vectors_npy_is_still_reused(tmp_path, content_copy, encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    current = versions.current_version(tmp_path)
    assert not (current / "vectors.npy").exists()
    vectors = stored_vectors(current)
    assert len(vectors) == len(chunk_table.read(current)) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    # A version from before 2026-12 kept a vectors.npy beside: the next build copies from it
    # (negated here, so the copy shows where it came from).
    np.save(current / "vectors.npy", -vectors)
    report = build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert report.embedded == 0
    np.testing.assert_array_equal(stored_vectors(versions.current_version(tmp_path)), -vectors)


def test_an_unreadable_vector_index_means_a_full_build(tmp_path, content_copy, encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    current = versions.current_version(tmp_path)
    size = (current / "vectors.faiss").stat().st_size
    (current / "vectors.faiss").write_bytes(b"x" * size)   # same size: only reading it shows the damage
    report = build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert report.embedded == report.chunks
    assert Searcher(tmp_path, encoder, today=TODAY).search("missad sophämtning", method="vector").hits


def test_digests_kept_by_object_are_those_of_the_articles_given(content_copy):
    """The watcher's memo of article digests: an object it has not hashed is hashed, whatever its place."""
    articles = list(load_content(content_copy, today=TODAY).articles.values())
    memo = DigestMemo()
    assert memo.digests(articles) == [article_digest(a) for a in articles]
    edited = shallow_copy(articles[3])
    edited.content_hash = "another file"
    same_length = articles[:3] + [edited] + articles[4:]
    assert memo.digests(same_length) == [article_digest(a) for a in same_length]
    assert memo.digests(same_length)[3] != article_digest(articles[3])
    shorter = same_length[1:]   # another length: looked up by object
    assert memo.digests(shorter) == [article_digest(a) for a in shorter]
