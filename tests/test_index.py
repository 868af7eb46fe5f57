"""Index versions: incremental builds, atomic switch, fallback, refusing a foreign model."""
import json
import os
import shutil

import pytest

from indexer import versions
from indexer.build import build_index
from search.searcher import IndexModelMismatch, Searcher
from tests.conftest import ROOT, TODAY


def test_rebuild_reuses_embeddings_and_only_reembeds_changed_article(tmp_path, content_copy, encoder):
    first = build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert first.embedded == first.chunks and first.reused == 0
    second = build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert second.embedded == 0 and second.reused == second.chunks
    path = content_copy / "avfall" / "missad-hamtning.md"
    path.write_text(path.read_text(encoding="utf-8").replace("två arbetsdagar", "tre arbetsdagar"), encoding="utf-8")
    third = build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert third.embedded == 1  # the one changed passage of the one changed article
    full = build_index(content_copy, tmp_path, encoder, today=TODAY, full=True)
    assert full.embedded == full.chunks


def test_broken_file_is_reported_and_the_rest_indexed(tmp_path, content_copy, encoder):
    (content_copy / "avfall" / "trasig.md").write_text("---\nid: [\n---\n", encoding="utf-8")
    report = build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert report.errors == 1 and any("trasig.md:2: malformed YAML" in issue for issue in report.issues)
    assert report.articles == 9


def test_searcher_picks_up_new_version_without_restart(tmp_path, content_copy, encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    searcher = Searcher(tmp_path, encoder, today=TODAY)
    assert "kompost" not in [h.id for h in searcher.search("kompostering av trädgårdsavfall").hits]
    (content_copy / "avfall" / "kompost.md").write_text(
        "---\nid: kompost\ntitle: Får jag kompostera trädgårdsavfall?\noffice: avfall\n---\n"
        "Ja, kompostering av trädgårdsavfall är tillåten på den egna tomten.\n", encoding="utf-8")
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert searcher.refresh(force=True)
    assert searcher.search("kompostering av trädgårdsavfall", method="keyword").hits[0].id == "kompost"


def test_corrupt_current_version_falls_back_to_last_good(tmp_path, content_copy, encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    good = versions.current_version(tmp_path)
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    newest = versions.current_version(tmp_path)
    assert newest != good
    (newest / "articles.jsonl").unlink()  # e.g. a disk problem
    assert versions.current_version(tmp_path) == good
    assert Searcher(tmp_path, encoder, today=TODAY).snapshot.version == good.name


def _flip_byte(path, at=10):
    with open(path, "r+b") as handle:
        handle.seek(at)
        byte = handle.read(1)
        handle.seek(at)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_files_are_hashed_once_and_again_when_changed_since(tmp_path, content_copy, encoder, monkeypatch):
    """Start-up trusts the build's hash record for files unchanged since; anything else is hashed before serving."""
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    current = versions.current_unverified(tmp_path)
    files = versions.read_manifest(current)["checksums"]
    hashed = []
    real = versions._hash_file
    monkeypatch.setattr(versions, "_hash_file", lambda path: hashed.append(path.name) or real(path))
    assert versions.verify_version(current) and hashed == []
    stat = (current / "chunks.jsonl").stat()
    _flip_byte(current / "chunks.jsonl")
    os.utime(current / "chunks.jsonl", ns=(stat.st_atime_ns, stat.st_mtime_ns))   # even with its time set back
    assert not versions.verify_version(current) and hashed == ["chunks.jsonl"]
    _flip_byte(current / "chunks.jsonl")   # mended: hashed once more, then trusted again
    hashed.clear()
    assert versions.verify_version(current) and hashed == ["chunks.jsonl"]
    hashed.clear()
    assert versions.verify_version(current) and hashed == []
    # A damaged or missing record costs time, never a wrong answer.
    (current / versions.HASH_RECORD).write_text("{not json")
    assert versions.verify_version(current) and len(hashed) == len(files)
    hashed.clear()
    assert versions.verify_version(current, every_byte=True) and len(hashed) == len(files)


def test_kb_verify_reads_every_byte(tmp_path, content_copy, encoder, runner, kb_cli):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    current = versions.current_version(tmp_path)
    result = runner.invoke(kb_cli, ["--data-dir", str(tmp_path), "verify"])
    assert result.exit_code == 0 and "intact" in result.output, result.output
    stat = (current / "vectors.faiss").stat()
    _flip_byte(current / "vectors.faiss", 200)
    # Set back to the recorded mtime: only the ctime (which nothing can set back) tells the change.
    os.utime(current / "vectors.faiss", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    result = runner.invoke(kb_cli, ["--data-dir", str(tmp_path), "verify"])
    assert result.exit_code == 1 and "damaged" in result.output, result.output
    missing = runner.invoke(kb_cli, ["--data-dir", str(tmp_path / "none"), "verify"])
    assert missing.exit_code == 1 and "run `kb index` first" in missing.output


def test_half_written_version_is_ignored_and_cleaned(tmp_path, content_copy, encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    good = versions.current_version(tmp_path)
    killed = versions.new_version_dir(tmp_path)  # a build killed before its manifest
    (killed / "chunks.jsonl").write_text("{")
    assert versions.current_version(tmp_path) == good
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert not killed.exists()


def test_no_index_is_a_clear_error(tmp_path, encoder):
    with pytest.raises(versions.NoIndex, match="run `kb index` first"):
        Searcher(tmp_path, encoder)


def test_index_built_with_another_model_is_refused(tmp_path, content_copy, encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    current = versions.current_version(tmp_path)
    manifest = json.loads((current / "manifest.json").read_text())
    manifest["model"]["fingerprint"] = "another-model"
    (current / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexModelMismatch, match="kb index --full"):
        Searcher(tmp_path, encoder)


def test_old_versions_are_pruned(tmp_path, content_copy, encoder):
    for _ in range(5):
        build_index(content_copy, tmp_path, encoder, today=TODAY, keep=2)
    assert len(versions.complete_versions(tmp_path)) == 2
    shutil.rmtree(tmp_path / "index")


def test_hnsw_index_serves_the_same_top_answers(tmp_path, content_copy, encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY, backend="hnsw")
    searcher = Searcher(tmp_path, encoder, today=TODAY)
    assert searcher.snapshot.manifest["vector_backend"] == "hnsw"
    assert searcher.search("tillstånd för parkering").hits[0].id == "parkeringstillstand-rorelsehindrad"
    assert searcher.search("soffa slänga").hits[0].id == "grovsopor-lamna"


def test_an_article_record_keeps_its_text_once_unless_it_has_internal_blocks(built_data_dir, searcher):
    """articles.jsonl stores `body` only beside internal blocks; the served article has both all the same."""
    version = versions.current_version(built_data_dir)
    records = {r["id"]: r for r in map(json.loads, (version / "articles.jsonl").open(encoding="utf-8"))}
    plain, with_notes = records["missad-hamtning"], records["parkeringstillstand-rorelsehindrad"]
    assert "body" not in plain and "public_body" in plain
    assert "::: intern" in with_notes["body"] and "::: intern" not in with_notes["public_body"]
    served = searcher.snapshot.articles["missad-hamtning"]
    assert served.body == served.public_body == plain["public_body"]
    assert searcher.snapshot.articles["parkeringstillstand-rorelsehindrad"].body == with_notes["body"]


def test_float16_vectors_answer_as_float32_vectors_do(tmp_path, content_copy, encoder):
    """The default vector store (flat16) rounds vectors to float16: same answers, scores within 1e-3."""
    queries = [json.loads(line)["query"] for line in (ROOT / "tests" / "eval" / "queries.jsonl").open()][:80]
    build_index(content_copy, tmp_path / "flat", encoder, today=TODAY, backend="flat")
    build_index(content_copy, tmp_path / "half", encoder, today=TODAY)
    full, half = Searcher(tmp_path / "flat", encoder, today=TODAY), Searcher(tmp_path / "half", encoder, today=TODAY)
    assert (full.snapshot.manifest["vector_backend"], half.snapshot.manifest["vector_backend"]) == ("flat", "flat16")
    same = 0
    for query in queries:
        expected, got = full.search(query, method="vector", k=3), half.search(query, method="vector", k=3)
        same += got.hits[0].id == expected.hits[0].id
        # Where the first answer differs, the two were tied to within the rounding.
        assert abs(got.hits[0].signals["vector"]["score"] - expected.hits[0].signals["vector"]["score"]) < 1e-3
    assert same >= 0.95 * len(queries)
