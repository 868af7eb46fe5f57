"""The sparse side is stored memory-mapped and scored row by row; older .npz versions still work."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from indexer import chunk_table, rows, sparse_index, versions
from indexer.build import build_index
from search.sparse import SparseScorer
from search.searcher import Searcher
from tests.conftest import TODAY

QUERIES = ["missad sophämtning", "parkeringstillstånd för rörelsehindrade", "hur ställer jag mitt barn i kö",
           "avgift för hemtjänst", "var lämnar jag grovsopor", "fakturan är fel"]


def _reference_scores(version_dir, scorer: SparseScorer, query, candidates, include_internal):
    """The scores as whole float32 CSR products over normalised rows (what the scorer computed before)."""
    (chunks,) = sparse_index.load_rows(version_dir, sparse_index.CHUNKS_DIR, "chunks")
    chunks = chunks.csr()
    norms = np.sqrt(np.asarray(chunks.multiply(chunks).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    public, everything = (m.csr() for m in sparse_index.load_rows(version_dir, sparse_index.ARTICLES_DIR,
                                                                    "public", "all"))
    ids, weights = query
    dense = np.zeros(chunks.shape[1], dtype=np.float32)
    dense[ids] = weights / np.linalg.norm(weights)
    chunk_scores = (chunks @ dense) / norms
    pooled = (everything if include_internal else public) @ dense
    result = {}
    for article_id in candidates:
        row = scorer.position[article_id]
        span = range(scorer.first[row], scorer.last[row])
        best = max((0.0 if not include_internal and scorer.chunk_internal[r] else chunk_scores[r] for r in span),
                   default=0.0)
        result[article_id] = (best + pooled[row]) / 2
    return result


def _to_legacy(version_dir) -> None:
    """Rewrite a version's sparse side in the .npz layout of versions built before the folders."""
    for folder, names in ((sparse_index.CHUNKS_DIR, ("chunks",)), (sparse_index.ARTICLES_DIR, ("public", "all"))):
        matrices = sparse_index.load_rows(version_dir, folder, *names)
        arrays = {}
        for name, m in zip(names, matrices):
            arrays.update({f"{name}_data": np.array(m.data), f"{name}_indices": np.array(m.indices),
                           f"{name}_indptr": np.array(m.indptr), f"{name}_shape": np.array(m.shape)})
        with open(version_dir / (folder + ".npz"), "wb") as out:
            np.savez(out, **arrays)
        shutil.rmtree(version_dir / folder)
    manifest = json.loads((version_dir / versions.MANIFEST).read_text())
    manifest["files"] = [f + ".npz" if f in (sparse_index.CHUNKS_DIR, sparse_index.ARTICLES_DIR) else f
                         for f in manifest["files"]]
    manifest.pop("checksums", None)
    versions.write_manifest(version_dir, manifest)


@pytest.mark.parametrize("include_internal", [True, False])
def test_row_by_row_scores_equal_whole_matrix_products(searcher, encoder, include_internal):
    scorer = searcher.snapshot.sparse
    assert isinstance(scorer.chunks[0].data, np.memmap)   # mapped, not read into memory
    candidates = list(scorer.position)
    for text in QUERIES:
        query = encoder.query_sparse(text)
        ours = dict(scorer.score(query, candidates, include_internal))
        reference = _reference_scores(searcher.snapshot.dir, scorer, query, candidates, include_internal)
        assert ours.keys() == reference.keys()
        for article_id, value in reference.items():
            assert ours[article_id] == pytest.approx(value, abs=1e-5), (text, article_id)


def test_a_version_in_the_older_npz_layout_is_searched_and_reused(tmp_path, content_copy, encoder):
    build_index(content_copy, tmp_path, encoder, today=TODAY)
    current = versions.current_version(tmp_path)
    before = {q: [(h.id, round(h.score, 5)) for h in Searcher(tmp_path, encoder, today=TODAY).search(q).hits]
              for q in QUERIES}
    _to_legacy(current)
    assert (current / "sparse_chunks.npz").is_file() and not (current / sparse_index.CHUNKS_DIR).exists()
    assert versions.current_version(tmp_path) == current   # still a valid version
    after = {q: [(h.id, round(h.score, 5)) for h in Searcher(tmp_path, encoder, today=TODAY).search(q).hits]
             for q in QUERIES}
    assert after == before
    # ... and the next build reuses its rows: one edited article is all that is embedded
    path = content_copy / "avfall" / "missad-hamtning.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nUppdaterad.\n", encoding="utf-8")
    report = build_index(content_copy, tmp_path, encoder, today=TODAY)
    assert 0 < report.embedded < report.chunks / 10
    assert (versions.current_version(tmp_path) / sparse_index.CHUNKS_DIR / "norms.npy").is_file()


def test_ranges_and_row_dots_handle_empty_rows():
    from indexer.rows import ranges
    from scipy import sparse as sp

    assert ranges(np.array([3, 10, 7]), np.array([5, 10, 9])).tolist() == [3, 4, 7, 8]
    assert ranges(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).tolist() == []
    matrix = sp.csr_matrix(np.array([[0, 0, 0], [1, 0, 2], [0, 0, 0], [0, 3, 0]], dtype=np.float32))
    stored = sparse_index.as_rows(matrix)
    query = np.array([1.0, 10.0, 100.0], dtype=np.float32)
    assert stored.dot_rows(np.array([3, 0, 1, 2]), query).tolist() == [30.0, 0.0, 201.0, 0.0]
    assert sparse_index.row_norms(stored).tolist() == pytest.approx([1.0, 5 ** 0.5, 1.0, 3.0])


def test_gather_and_copy_rows_take_each_row_from_where_the_plan_says():
    rng = np.random.default_rng(3)
    previous_lengths, fresh_lengths = rng.integers(0, 4, 6), rng.integers(0, 4, 3)
    previous = (np.r_[0, np.cumsum(previous_lengths)], {"v": rng.random(previous_lengths.sum())})
    fresh = (np.r_[0, np.cumsum(fresh_lengths)], {"v": rng.random(fresh_lengths.sum())})
    # The last previous row directly followed by the first fresh one: rows 5 and "6" must not be one run.
    sources = np.array([2, 3, 4, 5, -1, -1, 0, -1, 1])
    indptr, arrays = rows.gather(previous, sources, fresh)
    fresh_row = iter(range(3))
    for i, source in enumerate(sources.tolist()):
        (p_indptr, p_arrays), row = (previous, source) if source >= 0 else (fresh, next(fresh_row))
        expected = p_arrays["v"][p_indptr[row]:p_indptr[row + 1]]
        assert np.array_equal(arrays["v"][indptr[i]:indptr[i + 1]], expected), i
    dense = rng.random((6, 4))
    target = np.zeros((len(sources), 4))
    rows.copy_rows(target, dense, sources)
    assert np.array_equal(target[sources >= 0], dense[sources[sources >= 0]]) and not target[sources < 0].any()
    assert rows.runs(np.array([4, 5, 6, 9, 10]), cut=np.array([False, True, False, False])) == [(0, 2), (2, 3), (3, 5)]
    # The previous rows in two parts laid end to end (a delta version's base and delta): the same rows.
    split = (previous[0][:4] - previous[0][0], {"v": previous[1]["v"][:previous[0][3]]}), \
        (previous[0][3:] - previous[0][3], {"v": previous[1]["v"][previous[0][3]:]})
    parted_indptr, parted = rows.gather_parts(list(split), sources, fresh)
    assert np.array_equal(parted_indptr, indptr) and np.array_equal(parted["v"], arrays["v"])
    parted_target = np.zeros_like(target)
    rows.copy_rows(parted_target, [dense[:3], dense[3:]], sources)
    assert np.array_equal(parted_target, target)
    assert rows.runs(np.array([], dtype=np.int64)) == []


def test_articles_pooled_in_blocks_are_the_articles_pooled_at_once(built_data_dir, tmp_path, monkeypatch):
    """Pooling a few articles at a time (bounded memory at 100 000) writes the very same article rows."""
    version = versions.current_version(built_data_dir)
    (chunks,) = sparse_index.load_rows(version, sparse_index.CHUNKS_DIR, "chunks")
    table = chunk_table.read(version)
    n_articles = int(table.article.max()) + 1
    written = {}
    for block in (10_000, 2):
        monkeypatch.setattr(sparse_index, "POOL_BLOCK_ARTICLES", block)
        target = tmp_path / str(block)
        sparse_index.write(target, chunks, table.article, table.internal, n_articles,
                           sparse_index.row_norms(chunks))
        written[block] = sparse_index.load_rows(target, sparse_index.ARTICLES_DIR, "public", "all")
    assert n_articles >= 2 * 4 + 1   # several blocks, the last one short
    for whole, blocked in zip(written[10_000], written[2]):
        assert whole.shape == blocked.shape
        for key in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(whole, key), getattr(blocked, key), err_msg=key)


def test_a_fresh_kb_index_after_an_edit_does_without_scipy(built_data_dir, content_copy, tmp_path, encoder):
    """Importing scipy.sparse was 0.2-0.35 s of every fresh `kb index`: the sparse rows, the pools and
    a small folder's keyword columns are numpy, and the edit is still embedded, pooled and found."""
    import os
    import subprocess
    import sys

    data_dir = tmp_path / "data"
    shutil.copytree(built_data_dir / "index", data_dir / "index")
    path = content_copy / "avfall" / "missad-hamtning.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nHämtningen kan också gälla KOMPOSTBEHÅLLARE.\n",
                    encoding="utf-8")
    code = ("import sys\nfrom web.cli import cli\n"
            "try:\n    cli(['index'], prog_name='kb')\nexcept SystemExit as stop:\n    assert not stop.code, stop.code\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    env = dict(os.environ, KB_CONTENT_DIR=str(content_copy), KB_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    embedded = int(done.stdout.split(" embedded")[0].rsplit("(", 1)[1])
    assert 0 < embedded < 5, done.stdout   # the edited passage, the rest reused
    assert done.stdout.strip().splitlines()[-1] == "[]"
    version = versions.current_version(data_dir)
    (public,) = sparse_index.load_rows(version, sparse_index.ARTICLES_DIR, "public")
    assert public.shape[0] == json.loads((version / versions.MANIFEST).read_text())["articles"]
    hits = Searcher(data_dir, encoder, today=TODAY).search("kompostbehållare").hits
    assert hits and hits[0].id == "missad-hamtning"


def test_pools_are_the_max_over_an_articles_chunks_normalised_and_public_ones_skip_internal_chunks(tmp_path):
    rng = np.random.default_rng(7)
    width, n_chunks, n_articles = 64, 40, 9
    vectors = []
    for _ in range(n_chunks):
        ids = rng.choice(width, size=int(rng.integers(0, 6)), replace=False).astype(np.int32)
        vectors.append(None if rng.random() < 0.1 else (ids, rng.gamma(2.0, 0.5, len(ids)).astype(np.float32)))
    owner = np.sort(rng.integers(0, n_articles - 1, n_chunks))   # the last article has no chunks
    internal = rng.random(n_chunks) < 0.3
    chunks = sparse_index.assemble(None, np.full(n_chunks, -1), sparse_index.chunk_matrix(vectors, width))
    sparse_index.write(tmp_path, chunks, owner, internal, n_articles, sparse_index.row_norms(chunks))
    dense = np.zeros((n_chunks, width), dtype=np.float32)
    for row, vector in enumerate(vectors):
        if vector is not None:
            dense[row, vector[0]] = vector[1]
    public, everything = (m.csr().toarray() for m in sparse_index.load_rows(tmp_path, sparse_index.ARTICLES_DIR,
                                                                           "public", "all"))
    for article in range(n_articles):
        for pooled, rows in ((everything, owner == article), (public, (owner == article) & ~internal)):
            expected = dense[rows].max(axis=0) if rows.any() else np.zeros(width, dtype=np.float32)
            norm = np.linalg.norm(expected)
            assert pooled[article] == pytest.approx(expected / norm if norm else expected, abs=2e-3), article
    assert not public[n_articles - 1].any() and not everything[n_articles - 1].any()
