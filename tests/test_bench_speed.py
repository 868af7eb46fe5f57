"""Smoke run of the speed benchmark code (`kb bench speed`): small corpus, real model, real gunicorn."""
from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import subprocess

import pytest

from bench import peers, report
from bench.http_load import Gunicorn, load
from bench.quality import read_queries
from bench.speed import code_state, measure_size, merge_results, run_speed
from bench.synthetic import article_stream, load_seeds, seed_counts, write_corpus
from kb.embedding.factory import DEFAULT_MODEL, ensure_model
from kb.loader import load_content
from tests.conftest import MODEL_DATA_DIR


@pytest.fixture(scope="module")
def seeds():
    return load_seeds()


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory, seeds):
    return write_corpus(tmp_path_factory.mktemp("synthetic"), 150, 60, seeds=seeds)


def test_synthetic_corpus_is_real_markdown_varied_and_answerable(small_corpus):
    content, queries_file = small_corpus
    corpus = load_content(content)
    assert len(corpus.articles) == 150 and not corpus.errors
    assert len(corpus.offices) >= 50
    bodies = [a.public_body for a in corpus.articles.values()]
    assert len({hashlib.sha1(b.encode()).hexdigest() for b in bodies}) == len(bodies)  # never one text copied
    assert 40 <= statistics.median(len(b.split()) for b in bodies) <= 800
    queries = read_queries(queries_file)
    assert len(queries) == 60 and len({q["query"] for q in queries}) == 60
    for record in queries:
        assert all(article_id in corpus.articles for article_id in record["relevant"])


def test_synthetic_stream_is_deterministic_and_sizes_are_prefixes(seeds):
    small = [a.id for a in article_stream(seeds, 300)]
    assert small == [a.id for a in article_stream(seeds, 300)]
    assert small == [a.id for a in article_stream(seeds, 900)][:300]
    assert len(set(small)) == 300


def test_cached_corpus_is_reused(tmp_path, seeds):
    content, _ = write_corpus(tmp_path, 20, 5, seeds=seeds)
    marker = next(content.glob("*/*.md"))
    marker.write_text(marker.read_text() + "\nlokal ändring\n")
    write_corpus(tmp_path, 20, 5, seeds=seeds)
    assert "lokal ändring" in marker.read_text()
    write_corpus(tmp_path, 21, 5, seeds=seeds)  # another size: written anew
    assert not marker.exists() or "lokal ändring" not in marker.read_text()


def test_speed_measurements_end_to_end_on_a_small_corpus(tmp_path):
    model = ensure_model(DEFAULT_MODEL, MODEL_DATA_DIR)
    saved = []   # what `kb bench speed` writes to its results file after every step
    results = run_speed([12], tmp_path, model, checkpoint=lambda r: saved.append(json.loads(json.dumps(r))),
                        query_count=8, http=False, with_peers=False, model_sample=8)
    result = results["sizes"][0]
    build, serve = result["build"], result["serve"]
    assert [[step for step in ("build", "serve") if step in r["sizes"][0]] for r in saved] == [
        ["build"], ["build", "serve"]]
    assert all(r["sizes"][0]["unfinished"] for r in saved) and "unfinished" not in result
    cut = report.section(saved[0], "kb bench speed --articles 12", None)   # a run stopped after the build
    assert "12 articles: the run was cut after build; cold build" in cut and "| 12 | hybrid |" not in cut
    assert build["articles"] == 12 and build["errors"] == 0
    assert 0 < build["incremental_embedded"] < build["chunks"]   # one changed article, the rest reused
    assert build["incremental_command_s"] > 0                      # the same, by `kb index` in its own process
    assert 0 < build["incremental_watch_s"] < 60                   # and by `kb index --watch`, save to switch
    assert build["index_mb"] > 0 and build["model_passages_per_s"] > 0
    assert set(serve["methods"]) == {"keyword", "vector", "hybrid"}
    assert serve["methods"]["hybrid"]["mrr@10"] >= 0.5
    assert 100 < serve["rss_mb"] < 4000 and serve["startup_s"] > 0
    assert serve["limits"]["vectors"] == build["chunks"]
    assert result["query_precision"] == serve["query_precision"] == "int8"   # as the service embeds queries
    assert list(tmp_path.glob("kb-speed-*")) == []    # index folders are temporary
    text = report.section(results, "kb bench speed --articles 12", "plot.png")
    assert "| 12 | hybrid |" in text and "start-up ≤ 5.0 s" in text and "`kb index` command" in text
    assert "`kb index --watch`: save to new version served" in text and "Corpus seeds: 12: " in text
    assert "1 model thread for queries (int8)" in text
    assert result["code"] == code_state() and "code_changed" not in result
    assert f"Code measured: 12: {result['code']}." in text or not result["code"]   # "" outside a git checkout
    changed = results | {"sizes": [result | {"code_changed": result["code"] + "+changes-0123abcd"}]}
    assert "its figures mix two versions" in report.section(changed, "kb bench speed --articles 12", None)
    if report.plot(results, tmp_path / "plot.png"):
        assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"


def test_docs_section_is_replaced_and_the_rest_kept(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Quality\n\n| a | b |\n")
    report.write_docs(doc, f"{report.START}\nfirst\n{report.END}\n")
    report.write_docs(doc, f"{report.START}\nsecond\n{report.END}\n")
    text = doc.read_text()
    assert text.count(report.START) == 1 and "second" in text and "first" not in text
    assert text.startswith("# Benchmarks\n\n## Quality\n\n| a | b |")


def test_keyword_side_against_tantivy(small_corpus):
    pytest.importorskip("tantivy", reason="tantivy is a benchmark-only peer (requirements-bench.txt)")
    content, queries_file = small_corpus
    result = peers.keyword({"content_dir": str(content), "queries_file": str(queries_file)})
    for engine in ("whoosh", "tantivy"):
        assert result[engine]["mrr@10"] > 0.3 and result[engine]["build_s"] >= 0


def test_http_load_counts_answers_and_errors(built_data_dir, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(built_data_dir / "index", data_dir / "index")
    with Gunicorn(data_dir, tmp_path / "content", str(MODEL_DATA_DIR / "models"), workers=1) as server:
        ok = load(server.port, ["parkeringstillstånd", "dagis kö", "sophämtning", "hemtjänst"], concurrency=2)
        bad = load(server.port, ["x" * 1000, "förskola"], concurrency=1)   # too long for the API: 400
    assert ok["requests"] == 4 and ok["errors"] == 0 and ok["requests_per_s"] > 0
    assert bad["requests"] == 2 and bad["errors"] == 1 and bad["error_kinds"] == ["400"]
    assert server.process.poll() is not None   # stopped


def test_cli_refuses_bad_sizes_with_a_clear_message(runner, kb_cli):
    result = runner.invoke(kb_cli, ["bench", "speed", "--articles", "tusen"])
    assert result.exit_code == 2 and "article counts separated by commas" in result.output
    result = runner.invoke(kb_cli, ["bench", "speed", "--articles", "5"])
    assert result.exit_code == 2 and "between 10 and 1 000 000" in result.output


def test_peers_report_what_is_installed():
    assert set(peers.available()) == {"txtai", "tantivy"}
    json.dumps(peers.available())


def test_a_split_run_keeps_the_sizes_it_did_not_measure_again():
    previous = {"sizes": [{"articles": 1000, "v": "old"}, {"articles": 10000, "v": "old"}]}
    fresh = {"date": "now", "sizes": [{"articles": 100000, "v": "new"}, {"articles": 1000, "v": "new"}]}
    merged = merge_results(previous, fresh)
    assert [(s["articles"], s["v"]) for s in merged["sizes"]] == [(1000, "new"), (10000, "old"), (100000, "new")]
    assert merged["date"] == "now"


def test_a_size_run_again_without_peers_keeps_its_dated_keyword_comparison():
    engines = {"tantivy": {"build_s": 13.3, "p50_ms": 1.75, "p95_ms": 4.09, "recall@5": 0.626, "mrr@10": 0.53}}
    previous = {"sizes": [{"articles": 100000, "date": "2026-12-02 22:04 UTC", "v": "old",
                           "peers": {"keyword": engines, "txtai": {"serve": {}}}}]}
    fresh = {"date": "now", "sizes": [{"articles": 100000, "date": "2026-12-03 07:30 UTC", "v": "new"}]}
    size = merge_results(previous, fresh)["sizes"][0]
    assert size["v"] == "new" and size["peers"] == {"keyword": engines, "keyword_date": "2026-12-02 22:04 UTC"}
    assert "| 100,000 (run of 2026-12-02 22:04 UTC) | tantivy | 13.3 |" in "\n".join(report._peer_tables([size]))
    again = merge_results({"sizes": [size]}, {"sizes": [size | {"peers": {}}]})["sizes"][0]
    assert again["peers"]["keyword_date"] == "2026-12-02 22:04 UTC"   # the first run's date, not a copy's
    measured = {"keyword": {"tantivy": engines["tantivy"] | {"p95_ms": 3.9}}}
    assert merge_results(previous, {"sizes": [fresh["sizes"][0] | {"peers": measured}]})["sizes"][0]["peers"] \
        == measured                                                     # measured now: nothing kept


def test_corpus_from_other_seeds_is_written_anew_and_says_so(tmp_path, seeds):
    own = [s for s in seeds if s.key.startswith("own-")]
    write_corpus(tmp_path, 20, 5, seeds=seeds)
    assert json.loads((tmp_path / "corpus.json").read_text())["seeds"] == seed_counts(seeds)
    content, _ = write_corpus(tmp_path, 20, 5, seeds=own)   # e.g. run where ../shared is missing
    stamp = json.loads((tmp_path / "corpus.json").read_text())
    assert stamp["seeds"] == {"own": len(own), "faq": 0, "text": 0}
    assert all(path.name.startswith("own-") for path in content.glob("*/*.md"))


def test_articles_do_not_depend_on_the_query_count(tmp_path, seeds):
    few, _ = write_corpus(tmp_path / "few", 40, 5, seeds=seeds)
    many, _ = write_corpus(tmp_path / "many", 40, 30, seeds=seeds)
    files = sorted(p.relative_to(few) for p in few.rglob("*.md"))
    assert files == sorted(p.relative_to(many) for p in many.rglob("*.md"))
    assert all((few / f).read_bytes() == (many / f).read_bytes() for f in files)


def test_hashed_passages_keep_queries_real_and_corpus_vectors_deterministic(encoder):
    from bench.hashed import SPARSE_FEATURES, HashedPassages

    hashed = HashedPassages(encoder)
    texts = ["Hur ansöker jag om förskoleplats?", "Sophämtning i Bromma"]
    first, again = hashed.encode_passages(texts), hashed.encode_passages(list(reversed(texts)))[::-1]
    assert first.shape == (2, encoder.dimension) and (first == again).all()
    assert abs(float(first[0] @ first[0]) - 1) < 1e-5 and abs(float(first[0] @ first[1])) < 0.3
    # Queries are the model's own: their cost and vectors are what production has.
    assert (hashed.encode_queries(["dagis"]) == encoder.encode_queries(["dagis"])).all()
    assert hashed.fingerprint() != encoder.fingerprint()   # never served against a real-model index
    if encoder.sparse_dimension:
        _, sparse = hashed.encode_with_sparse(texts[:1], "passage")
        ids, weights = sparse[0]
        assert len(set(ids.tolist())) == SPARSE_FEATURES and (weights > 0).all() and (ids[:-1] < ids[1:]).all()


def test_a_hashed_size_is_measured_end_to_end_and_marked_in_the_report(tmp_path):
    model = ensure_model(DEFAULT_MODEL, MODEL_DATA_DIR)
    result = measure_size(12, tmp_path, model, query_count=8, http=True, http_requests=4, http_levels=(2,),
                          with_peers=False, model_sample=8, hashed=True)
    build, serve = result["build"], result["serve"]
    assert result["hashed_passages"] and build["encoder"] == "HashedPassages"
    assert 0 < build["incremental_embedded"] < build["chunks"]   # `kb index` under the wrapper reused the rest
    assert build["incremental_command_s"] > 0 and 0 < build["incremental_watch_s"] < 60
    assert build["model_passages_per_s"] > 0                       # the real model's rate, for the estimates
    assert 0 < build["model_edit_s"] < 60                          # what the real model adds to a fresh `kb index`
    assert serve["methods"]["keyword"]["mrr@10"] >= 0.5            # keyword quality stays a figure
    assert result["http"]["levels"][0]["errors"] == 0              # gunicorn ran under the wrapper too
    results = {"date": "2026-12-02", "machine": report.machine(), "options": {}, "seconds": 1.0, "sizes": [result]}
    text = report.tables(results)
    assert "| 12 † | vector | " in text and "| – | – | – |" in text and "with the model)" in text
    assert "not run with the model" in text and "s model |" in text and report.HASHED_NOTE in text
    assert f"+ {build['model_edit_s']} s model (measured)" in text  # the command's model part, not estimated


def test_the_code_measured_names_its_commit_and_uncommitted_python_changes(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "a")
    clean = code_state(tmp_path)
    assert clean and "+changes-" not in clean
    (tmp_path / "a.py").write_text("x = 2\n")
    edited = code_state(tmp_path)
    assert edited.startswith(clean + "+changes-")
    (tmp_path / "a.py").write_text("x = 3\n")
    assert code_state(tmp_path) not in (clean, edited)
    assert code_state(tmp_path / "missing") == ""


def test_the_machine_line_names_the_cpus_vector_instructions(tmp_path):
    """Two CPUs both called "AMD EPYC" ran the model at 2x different speeds: AVX-512 or not tells them apart."""
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma\n\n"
                    "processor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma\n")
    assert "AMD EPYC (AVX2), " in report.machine(info)
    info.write_text("model name\t: AMD EPYC\nflags\t\t: avx2 avx512f avx512_vnni\n")
    assert "AMD EPYC (AVX-512), " in report.machine(info)
    assert "unknown CPU, " in report.machine(tmp_path / "missing")
