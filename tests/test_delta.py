"""Delta versions: after an edit the big row files are shared with the base, and search is what a full build gives."""
import json
import os

import numpy as np
import pytest

from indexer import chunk_table, delta, versions
from indexer.build import build_index
from search.articles import ArticleStore
from search.searcher import Searcher
from tests.conftest import TODAY
from tests.test_incremental import QUERIES, _edit_corpus

LINKED = ("vectors.faiss", "chunks.jsonl", "keyword_matrix.npz", "keyword_columns/body_docs.npy",
          "keyword_columns/positions_keys.npy", "sparse_chunks/chunks/data.npy",
          "sparse_articles/public/data.npy", "sparse_articles/all/indptr.npy")


@pytest.fixture
def small_base(monkeypatch):
    """Deltas over the fixture corpus too (a real deployment builds them over 20 000 chunks and more)."""
    monkeypatch.setattr(delta, "MIN_BASE_CHUNKS", 0)
    monkeypatch.setattr(delta, "MAX_DELTA_SHARE", 0.5)


def _answers(data_dir, encoder) -> dict:
    """Every method, both audiences and an office filter: the ids and rounded scores of the top five."""
    searcher = Searcher(data_dir, encoder, today=TODAY)
    found = {}
    for query in QUERIES:
        for method in ("keyword", "vector", "hybrid"):
            for audience, office in (("internal", None), ("public", None), ("public", "avfall")):
                hits = searcher.search(query, k=5, method=method, audience=audience, office=office).hits
                found[(query, method, audience, office)] = [(hit.id, round(hit.score, 3)) for hit in hits]
    return found


def _edit_again(content):
    """A second day: another article edited."""
    path = content / "parkering" / next(p.name for p in sorted((content / "parkering").glob("*.md")))
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip() + "\n\nHandläggningstiden är normalt fyra veckor.\n", encoding="utf-8")


def test_a_delta_version_links_the_base_and_answers_as_a_full_build(tmp_path, content_copy, encoder, small_base):
    data, full_dir = tmp_path / "delta", tmp_path / "full"
    build_index(content_copy, data, encoder, today=TODAY)
    base = versions.current_version(data)
    removed_id = _edit_corpus(content_copy)
    build_index(content_copy, data, encoder, today=TODAY)
    new = versions.current_version(data)
    build_index(content_copy, full_dir, encoder, today=TODAY, full=True)

    note = versions.read_manifest(new)["delta"]
    assert note["base_version"] == base.name and note["dead_chunks"] > 0 and note["delta_chunks"] > 0
    for name in LINKED:   # the same file, not a copy
        assert os.stat(new / name).st_ino == os.stat(base / name).st_ino, name
    for name in ("vectors.faiss", "chunks.jsonl", "keyword_matrix.npz", "article_rows.npy"):
        assert (new / "delta" / name).is_file(), name
    # Whoosh's segment files too (only its table of contents is copied, and a segment added).
    segments = [p.name for p in (base / "keyword").iterdir() if p.suffix == ".seg"]
    assert segments and all(os.stat(new / "keyword" / name).st_ino == os.stat(base / "keyword" / name).st_ino
                            for name in segments)
    # An article was added and one removed: records pointing to them may change, so all are written anew.
    assert not (new / "delta" / "articles.jsonl").exists()
    assert versions.verify_version(new) and versions.verify_version(base)

    ours, theirs = ArticleStore(new), ArticleStore(versions.current_version(full_dir))
    assert list(ours) == list(theirs) and all(ours[i] == theirs[i] for i in ours)
    assert "tre arbetsdagar" in ours["missad-hamtning"].public_body
    answers = _answers(data, encoder)
    assert answers == _answers(full_dir, encoder)
    assert answers[("kompostera trädgårdsavfall", "keyword", "public", None)][0][0] == "kompost"
    assert not any(removed_id in [hit for hit, _ in ids] for ids in answers.values())


def test_a_second_edit_extends_the_delta_of_the_same_base(tmp_path, content_copy, encoder, small_base):
    data, full_dir = tmp_path / "delta", tmp_path / "full"
    build_index(content_copy, data, encoder, today=TODAY)
    base = versions.current_version(data)
    _edit_corpus(content_copy)
    build_index(content_copy, data, encoder, today=TODAY)
    previous = versions.current_version(data)
    _edit_again(content_copy)
    report = build_index(content_copy, data, encoder, today=TODAY)
    new = versions.current_version(data)
    assert report.embedded > 0 and versions.read_manifest(new)["delta"]["base_version"] == base.name
    assert os.stat(new / "vectors.faiss").st_ino == os.stat(base / "vectors.faiss").st_ino
    # Only an edit this time: the records of the others are those of the version before (linked).
    assert (new / "delta" / "articles.jsonl").is_file()
    assert os.stat(new / "articles.jsonl").st_ino == os.stat(previous / "articles.jsonl").st_ino
    # A third edit elsewhere: the second one's record moves from one delta to the next.
    path = content_copy / "avfall" / "missad-hamtning.md"
    path.write_text(path.read_text(encoding="utf-8").replace("tre arbetsdagar", "fyra arbetsdagar"), encoding="utf-8")
    build_index(content_copy, data, encoder, today=TODAY)
    new = versions.current_version(data)
    build_index(content_copy, full_dir, encoder, today=TODAY, full=True)
    assert _answers(data, encoder) == _answers(full_dir, encoder)
    ours, theirs = ArticleStore(new), ArticleStore(versions.current_version(full_dir))
    assert list(ours) == list(theirs) and all(ours[i] == theirs[i] for i in ours)
    assert "fyra arbetsdagar" in ours["missad-hamtning"].public_body
    for name in ours.columns:   # filters and lists read the columns: the same as a full build's
        assert list(ours.columns[name]) == list(theirs.columns[name]), name

    # Every live chunk's text is read back from the right file, base or delta.
    table = chunk_table.read(new)
    texts = chunk_table.ChunkTexts(new, table.offsets, table.base)
    articles = [json.loads(line)["id"] for line in (new / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    for row in np.flatnonzero(table.article >= 0).tolist():
        assert texts.record(row)["article_id"] == articles[table.article[row]]


def test_an_edit_of_an_answer_links_the_column_file_and_an_edit_of_a_title_writes_it(tmp_path, content_copy,
                                                                                      encoder, small_base):
    """Filters and lists read the article columns: linked while no column changed, written when one did."""
    data, full_dir = tmp_path / "delta", tmp_path / "full"
    build_index(content_copy, data, encoder, today=TODAY)
    _edit_corpus(content_copy)
    build_index(content_copy, data, encoder, today=TODAY)
    previous = versions.current_version(data)
    _edit_again(content_copy)   # an answer's text only
    build_index(content_copy, data, encoder, today=TODAY)
    new = versions.current_version(data)
    assert os.stat(new / "article_columns.json").st_ino == os.stat(previous / "article_columns.json").st_ino
    path = content_copy / "avfall" / "missad-hamtning.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: Soporna har inte hämtats",
                                                            "title: Soporna blev kvar"), encoding="utf-8")
    build_index(content_copy, data, encoder, today=TODAY)
    newest = versions.current_version(data)
    assert versions.read_manifest(newest)["delta"] is not None
    assert os.stat(newest / "article_columns.json").st_ino != os.stat(new / "article_columns.json").st_ino
    assert versions.verify_version(new) and versions.verify_version(newest)
    build_index(content_copy, full_dir, encoder, today=TODAY, full=True)
    ours, theirs = ArticleStore(newest), ArticleStore(versions.current_version(full_dir))
    assert ours.columns["title"][ours.row["missad-hamtning"]] == "Soporna blev kvar, vad gör jag?"
    for name in ours.columns:
        assert list(ours.columns[name]) == list(theirs.columns[name]), name
    assert _answers(data, encoder) == _answers(full_dir, encoder)


def test_removing_the_base_version_leaves_the_delta_whole(tmp_path, content_copy, encoder, small_base):
    data = tmp_path / "data"
    build_index(content_copy, data, encoder, today=TODAY)
    _edit_corpus(content_copy)
    build_index(content_copy, data, encoder, today=TODAY, keep=1)   # the base is pruned at once
    (new,) = versions.complete_versions(data)
    assert versions.read_manifest(new)["delta"] is not None and versions.verify_version(new)
    hits = Searcher(data, encoder, today=TODAY).search("kompostera trädgårdsavfall", k=1).hits
    assert hits[0].id == "kompost"


def test_a_delta_grown_too_large_means_the_whole_version_is_written_again(tmp_path, content_copy, encoder,
                                                                          small_base, monkeypatch):
    data, full_dir = tmp_path / "data", tmp_path / "full"
    build_index(content_copy, data, encoder, today=TODAY)
    base = versions.current_version(data)
    _edit_corpus(content_copy)
    build_index(content_copy, data, encoder, today=TODAY)
    assert versions.read_manifest(versions.current_version(data))["delta"] is not None
    monkeypatch.setattr(delta, "MAX_DELTA_SHARE", 0.01)
    _edit_again(content_copy)
    report = build_index(content_copy, data, encoder, today=TODAY)   # from a delta to a whole version
    new = versions.current_version(data)
    assert versions.read_manifest(new)["delta"] is None and not (new / "delta").exists()
    assert os.stat(new / "vectors.faiss").st_ino != os.stat(base / "vectors.faiss").st_ino
    assert report.embedded < report.chunks // 4   # still reused, only not shared
    build_index(content_copy, full_dir, encoder, today=TODAY, full=True)
    assert _answers(data, encoder) == _answers(full_dir, encoder)
    for name in ("chunks.jsonl", "articles.jsonl", "digests.json"):
        assert (new / name).read_bytes() == (versions.current_version(full_dir) / name).read_bytes(), name


def test_the_rule_for_writing_a_delta():
    assert delta.worth_it(100_000, 50, 40)
    assert not delta.worth_it(100_000, 20_000, 40)        # the delta outgrew its share of the base
    assert not delta.worth_it(100_000, 50, 20_000)        # too many dead rows scanned by every search
    assert not delta.worth_it(delta.MIN_BASE_CHUNKS - 1, 1, 1)   # small: writing it whole is cheap


def test_a_delta_version_is_served_without_hashing_what_the_base_had_hashed(tmp_path, content_copy, encoder,
                                                                           small_base, monkeypatch):
    """The server verifies every file before it serves a version: the build's hash record covers linked files too."""
    data = tmp_path / "data"
    build_index(content_copy, data, encoder, today=TODAY)
    base = versions.current_version(data)
    _edit_again(content_copy)
    build_index(content_copy, data, encoder, today=TODAY)
    new = versions.current_unverified(data)
    hashed = []
    real = versions._hash_file
    monkeypatch.setattr(versions, "_hash_file", lambda path: hashed.append(path) or real(path))
    assert versions.verify_version(new) and hashed == []
    # A delta of that delta, the base pruned (an unlink moves the shared files' ctime, as a link does).
    _edit_corpus(content_copy)
    build_index(content_copy, data, encoder, today=TODAY, keep=2)
    third = versions.current_unverified(data)
    hashed.clear()   # what the build hashed: the files it wrote
    assert not base.exists() and versions.read_manifest(third)["delta"]["base_version"] == base.name
    assert versions.verify_version(third) and versions.verify_version(new) and hashed == []
    checksums = versions.read_manifest(third)["checksums"]
    linked = {name for name in checksums if os.stat(third / name).st_nlink > 1}
    assert set(LINKED) <= linked
    # A linked file changed in place is hashed again, and the damage found (in both versions sharing it).
    with open(third / "vectors.faiss", "r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(third / "vectors.faiss", ns=(1, 1))   # even with its time set back
    assert not versions.verify_version(third) and [path.name for path in hashed] == ["vectors.faiss"]
    assert not versions.verify_version(new)


def _typo_map_from_scratch(version_dir):
    from search.searcher import Snapshot

    scratch = Snapshot(version_dir).keyword
    scratch.adopt_fuzzy(None)
    return scratch._deletes


def test_switch_after_an_answer_edit_reuses_columns_and_updates_the_typo_map(small_base, tmp_path, content_copy,
                                                                             encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    searcher = Searcher(tmp_path, encoder, today=TODAY)
    before = searcher.snapshot
    path = content_copy / "avfall" / "missad-hamtning.md"
    text = path.read_text(encoding="utf-8")
    assert "arbetsdagar" in text
    path.write_text(text.replace("arbetsdagar", "vardagar") + "\nKontakta kärlreparationsgruppen.\n",
                    encoding="utf-8")
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert searcher.refresh(force=True)
    after = searcher.snapshot
    # The edit left every column as it was: the build linked the file, the switch parsed nothing.
    assert after.articles.columns["id"] is before.articles.columns["id"]
    assert after.articles["missad-hamtning"].body != before.articles["missad-hamtning"].body
    # The typo map, made from the previous one, is the one a fresh start would build; the old one untouched.
    assert after.keyword._deletes == _typo_map_from_scratch(after.dir)
    assert before.keyword._deletes == _typo_map_from_scratch(before.dir)
    assert after.keyword._deletes != before.keyword._deletes
    hits = searcher.search("kärlreparationsgrupen", method="keyword").hits   # one letter missing
    assert hits and hits[0].id == "missad-hamtning"
