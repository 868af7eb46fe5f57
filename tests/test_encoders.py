"""Every encoder backend keeps the same contract, and the BERT ones (onnx, torch) embed like sentence-transformers."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from kb.embedding.common import UnsupportedModel
from kb.embedding.factory import BACKENDS, DEFAULT_BACKEND, DEFAULT_MODEL, ModelNotAvailable, load_encoder
from tests.conftest import MODEL_DATA_DIR, ROOT

DENSE_MIN_COSINE = 0.9999
SPARSE_MIN_COSINE = 0.999

# 2 000 characters, well over 512 tokens: both backends must cut it at the same token.
LONG_TEXT = (" ".join(f"Ärende {i:03d}/2024: ansökan om bygglov för komplementbostadshus, fastighet Åkerby {i}:{i * 3}."
                      for i in range(1, 60)))[:2000]
TEXTS = [
    "Hur ansöker jag om bygglov för ett attefallshus?",
    "Åsa, Ärla och Östen åt ål i Åre.",
    "Vattenförsörjningsanläggningsunderhållsentreprenör",
    "Missä voin hakea rakennuslupaa?",
    "How do I renew my parking permit online?",
    "مرحبا، كيف يمكنني التقدم بطلب للحصول على رخصة بناء؟",
    LONG_TEXT,
    " ",
    "tabb\tseparerad\ttext\nrad två\r\nrad tre",
    "Ｈｅｊ　ｖäｒｌｄｅｎ！ ﬁnansiering",
    "Tack! 😀👍🏽 kontroll\x01tecken",
    "hemtjänst avgift 2024 maxtaxa",
]


@pytest.fixture(scope="module")
def encoders(encoder) -> dict:
    """One encoder per backend over the converted model, each running the exact (float32) model, and
    the suite's shared `encoder` (the default backend with int8 queries, as the service runs it)."""
    assert encoder.query_precision == "int8"
    return {name: load_encoder(DEFAULT_MODEL, MODEL_DATA_DIR, backend=name) for name in BACKENDS} | {INT8: encoder}


INT8 = "onnx, int8 queries"


@pytest.fixture(params=sorted([*BACKENDS, INT8]))
def any_encoder(request, encoders):
    """Each backend in turn, and the default one with int8 queries, for the contract tests."""
    return encoders[request.param]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity."""
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _densify(sparse, dimension: int) -> np.ndarray:
    """A SparseVector as a dense array of the head's dimension."""
    ids, weights = sparse
    out = np.zeros(dimension, dtype=np.float32)
    out[ids] = weights
    return out


# --- the contract, for every backend -------------------------------------------------------------

def test_shapes_dtype_and_unit_norm(any_encoder):
    assert any_encoder.dimension == 384 and any_encoder.name == DEFAULT_MODEL
    assert any_encoder.threads >= 1 and any_encoder.batch_threads >= 1
    for vectors, count in ((any_encoder.encode_queries(TEXTS[:3]), 3),
                           (any_encoder.encode_queries(TEXTS[:1]), 1),
                           (any_encoder.encode_passages(TEXTS, batch_size=4), len(TEXTS))):
        assert vectors.shape == (count, 384) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_query_and_passage_prefixes_differ(any_encoder):
    assert (any_encoder.query_prefix, any_encoder.passage_prefix) == ("query: ", "passage: ")
    text = TEXTS[0]
    cos = float(any_encoder.encode_queries([text])[0] @ any_encoder.encode_passages([text])[0])
    assert cos < 0.999


def test_single_query_cache(any_encoder):
    text = "Var hittar jag min faktura från kommunen?"
    first = any_encoder.encode_queries([text])
    assert not first.flags.writeable          # callers cannot corrupt the cached vector
    assert np.array_equal(any_encoder.encode_queries([text]), first)
    assert any_encoder.query_sparse(text) is any_encoder.query_sparse(text)   # the same cached pass
    any_encoder.clear_cache()
    assert _cosines(any_encoder.encode_queries([text]), first)[0] >= DENSE_MIN_COSINE
    # a batch of queries goes through the batch path and agrees with the single-query path
    batch = any_encoder.encode_queries([text, TEXTS[1]])
    assert _cosines(batch[:1], first)[0] >= DENSE_MIN_COSINE


def test_sparse_vectors(any_encoder):
    dimension = any_encoder.sparse_dimension
    assert any_encoder.sparse_head is not None and dimension == any_encoder.sparse_head.dimension > 0
    dense, sparse = any_encoder.encode_with_sparse(TEXTS[:4], kind="passage", batch_size=2)
    assert dense.shape == (4, 384) and dense.dtype == np.float32 and len(sparse) == 4
    assert _cosines(dense, any_encoder.encode_passages(TEXTS[:4])).min() >= DENSE_MIN_COSINE
    for ids, weights in sparse + [any_encoder.query_sparse(TEXTS[0])]:
        assert 0 < len(ids) <= 256 and ids.dtype == np.int32 and weights.dtype == np.float32
        assert ids.max() < dimension and np.all(weights > 0) and np.all(np.diff(ids) > 0)
        assert _densify((ids, weights), dimension).shape == (dimension,)


def test_empty_input(any_encoder):
    for vectors in (any_encoder.encode_queries([]), any_encoder.encode_passages([])):
        assert vectors.shape == (0, 384) and vectors.dtype == np.float32
    dense, sparse = any_encoder.encode_with_sparse([], kind="passage")
    assert dense.shape == (0, 384) and sparse == []
    # texts with nothing but white space still get a unit vector (the prefix is content)
    assert np.isclose(np.linalg.norm(any_encoder.encode_queries([""])[0]), 1.0, atol=1e-5)


# --- torch backend == sentence-transformers --------------------------------------------------------

BERT_BACKENDS = ("onnx", "torch")


def test_same_tokens_and_fingerprint(encoders):
    st_enc = encoders["sentence-transformers"]
    texts = ["passage: " + t for t in TEXTS]
    theirs = st_enc.model.tokenize(texts)
    ours = encoders["torch"].model.tokenize(texts)
    for key in ("input_ids", "attention_mask"):
        assert ours[key].tolist() == theirs[key].tolist(), key
    assert int(ours["attention_mask"][TEXTS.index(LONG_TEXT)].sum()) == 512   # truncated, not dropped
    onnx_ids = [e.ids for e in encoders["onnx"].tokenizer.encode_batch(texts)]
    assert onnx_ids == theirs["input_ids"].tolist()
    # the same folder gives the same fingerprint: an index built with one backend serves with another
    assert {enc.fingerprint() for enc in encoders.values()} == {st_enc.fingerprint()}


@pytest.mark.parametrize("backend", BERT_BACKENDS)
def test_bert_backends_match_sentence_transformers(encoders, backend):
    ours, st_enc = encoders[backend], encoders["sentence-transformers"]
    singles = {name: np.concatenate([enc.encode_queries([t]) for t in TEXTS]) for name, enc in encoders.items()}
    worst = {"single queries": _cosines(singles[backend], singles["sentence-transformers"]).min(),
             "query batch": _cosines(ours.encode_queries(TEXTS), st_enc.encode_queries(TEXTS)).min(),
             "passage batch": _cosines(ours.encode_passages(TEXTS, batch_size=5),
                                       st_enc.encode_passages(TEXTS, batch_size=5)).min()}
    sparse_worst = min(
        _cosines(_densify(ours.query_sparse(t), ours.sparse_dimension)[None],
                 _densify(st_enc.query_sparse(t), st_enc.sparse_dimension)[None])[0] for t in TEXTS)
    print(f"\nminimum cosine {backend} vs sentence-transformers: {worst}, query sparse {sparse_worst:.6f}")
    assert min(worst.values()) >= DENSE_MIN_COSINE, worst
    assert sparse_worst >= SPARSE_MIN_COSINE


@pytest.mark.parametrize("backend", BERT_BACKENDS)
def test_mixed_length_batches_match_and_padding_changes_nothing(encoders, backend):
    """One batch of short and long texts (much padding) against sentence-transformers and against one text per pass."""
    ours, st_enc = encoders[backend], encoders["sentence-transformers"]
    dim = ours.sparse_dimension
    dense, sparse = ours.encode_with_sparse(TEXTS, kind="passage", batch_size=len(TEXTS))
    for name, (other_dense, other_sparse) in {
        "sentence-transformers": st_enc.encode_with_sparse(TEXTS, kind="passage", batch_size=len(TEXTS)),
        "unpadded": ours.encode_with_sparse(TEXTS, kind="passage", batch_size=1),
    }.items():
        dense_cos = _cosines(dense, other_dense)
        sparse_cos = _cosines(np.stack([_densify(s, dim) for s in sparse]),
                              np.stack([_densify(s, dim) for s in other_sparse]))
        print(f"\n{backend} vs {name}: dense min {dense_cos.min():.7f}, sparse min {sparse_cos.min():.7f}")
        assert dense_cos.min() >= DENSE_MIN_COSINE, (name, dense_cos)
        assert sparse_cos.min() >= SPARSE_MIN_COSINE, (name, sparse_cos)


# --- int8 queries (KB_QUERY_PRECISION=int8, the default) --------------------------------------------

def test_int8_queries_stay_close_to_the_model_and_leave_the_index_alone(encoders):
    """Queries through the int8 graph: near the float32 ones (so they still find what the index holds), but
    another graph; batched and single queries agree; passages, which go into the index, are unchanged."""
    exact, quick = encoders["onnx"], encoders[INT8]
    single = np.concatenate([quick.encode_queries([t]) for t in TEXTS])
    cosines = _cosines(single, exact.encode_queries(TEXTS))
    print(f"\nint8 vs float32 single queries: min cosine {cosines.min():.5f}, mean {cosines.mean():.5f}")
    assert cosines.min() >= 0.98 and cosines.mean() >= 0.99, cosines
    assert cosines.mean() < 0.99999   # really the int8 graph, not the float32 one again
    assert _cosines(single, quick.encode_queries(TEXTS)).min() >= DENSE_MIN_COSINE
    assert np.array_equal(quick.encode_passages(TEXTS, batch_size=4), exact.encode_passages(TEXTS, batch_size=4))
    dense, sparse = quick.encode_with_sparse(TEXTS, kind="query", batch_size=4)   # index-side questions
    assert np.array_equal(dense, exact.encode_with_sparse(TEXTS, kind="query", batch_size=4)[0])
    dim = quick.sparse_dimension
    sparse_cos = [_cosines(_densify(quick.query_sparse(t), dim)[None], _densify(exact.query_sparse(t), dim)[None])[0]
                  for t in TEXTS if t.strip()]
    # The sparse head keeps each text's top features: small shifts in the states swap some of them
    # (0.84-0.92 seen). Search quality with both signals is measured in docs/benchmarks.md.
    print(f"int8 vs float32 query sparse vectors: min cosine {min(sparse_cos):.3f}")
    assert min(sparse_cos) >= 0.75, sparse_cos


def test_query_precision_setting_is_validated():
    from kb.settings import load_settings

    assert load_settings(environ={})["query_precision"] == "int8"
    assert load_settings(environ={"KB_QUERY_PRECISION": "float32"})["query_precision"] == "float32"
    with pytest.raises(ValueError, match="KB_QUERY_PRECISION"):
        load_settings(environ={"KB_QUERY_PRECISION": "int4"})


# --- tokenizing a few passages without the whole tokenizer (kb/embedding/unigram_subset.py) -------

def test_subset_tokenizer_gives_the_whole_tokenizers_ids(encoders):
    """On every fixture article, the edge cases above and literal special tokens: same ids, same masks."""
    from kb.embedding.unigram_subset import UnigramPieces
    from tests.conftest import FIXTURE_CONTENT

    whole = encoders["onnx"]
    texts = ["passage: " + t for t in TEXTS] + ["<s> före </s> efter <mask> <pad>x<unk>"]
    texts += [path.read_text(encoding="utf-8") for path in sorted(FIXTURE_CONTENT.rglob("*.md"))]
    pieces = UnigramPieces(whole.path / "tokenizer.json", whole.max_seq_length, 1)
    for batch in (texts, texts[:1], texts[-3:]):
        ids, mask = pieces.encode(batch)
        expected = whole.tokenizer.encode_batch(batch)
        assert ids.tolist() == [e.ids for e in expected]
        assert mask.tolist() == [e.attention_mask for e in expected]


def test_the_kept_pieces_file_is_made_once_and_made_again_when_damaged(tmp_path):
    from kb.embedding.unigram_subset import UnigramPieces

    (tmp_path / "tokenizer.json").symlink_to(MODEL_DATA_DIR / "models" / DEFAULT_MODEL / "tokenizer.json")
    first = UnigramPieces(tmp_path / "tokenizer.json", 512, 1)
    (kept,) = tmp_path.glob("kb_encoder-pieces-*.pickle")
    kept.write_bytes(kept.read_bytes()[:1000])   # cut short
    again = UnigramPieces(tmp_path / "tokenizer.json", 512, 1)
    assert again.ids == first.ids and [p.name for p in tmp_path.glob("kb_encoder-pieces-*")] == [kept.name]
    assert kept.stat().st_size > 1_000_000   # written whole again
    assert again.encode(["Åsa åt ål"])[0].tolist() == first.encode(["Åsa åt ål"])[0].tolist()


def test_a_few_passages_never_load_the_whole_tokenizer_and_embed_the_same():
    fresh = load_encoder(DEFAULT_MODEL, MODEL_DATA_DIR, backend="onnx")
    texts = [t for t in TEXTS if t.strip()]
    few = fresh.encode_passages(texts, batch_size=4)
    assert "tokenizer" not in fresh.__dict__   # an incremental build of one article stops here
    whole = load_encoder(DEFAULT_MODEL, MODEL_DATA_DIR, backend="onnx")
    whole.warm_up()   # what the watcher does before it watches
    assert "tokenizer" in whole.__dict__
    assert _cosines(few, whole.encode_passages(texts, batch_size=4)).min() >= 0.999999
    fresh.encode_passages(texts * 6)   # past SUBSET_PASSAGES: a bigger build loads it once
    assert "tokenizer" in fresh.__dict__


# --- loading -------------------------------------------------------------------------------------

def test_default_backend_never_imports_torch_or_transformers():
    """The service path (settings -> factory -> first query) in a fresh process imports neither (faster start)."""
    code = (
        "import json, sys\n"
        "from kb.embedding.factory import encoder_from_settings\n"
        "from kb.settings import load_settings\n"
        "encoder = encoder_from_settings(load_settings())\n"
        "encoder.encode_queries(['hur ansöker jag om bygglov'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'sentence_transformers'))\n"
        "print(json.dumps({'class': type(encoder).__name__, 'heavy': heavy}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}   # the defaults, whatever the caller set
    env.update(KB_MODEL_CACHE=str(MODEL_DATA_DIR / "models"), KB_DATA_DIR=str(MODEL_DATA_DIR))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"class": "OnnxBertEncoder", "heavy": []}


def test_the_onnx_export_is_made_once_and_kept_out_of_the_fingerprint(tmp_path):
    """A copy of the model folder without its export: loading exports it, atomically, without changing identity."""
    from kb.embedding.bert_onnx import export_path, int8_path
    from kb.embedding.common import folder_fingerprint
    from kb.embedding.sparse_head import CACHE_PREFIX as SPARSE_CACHE_PREFIX

    source = MODEL_DATA_DIR / "models" / DEFAULT_MODEL
    folder = tmp_path / "model"
    folder.mkdir()
    for item in source.iterdir():
        if not item.name.endswith(".onnx"):
            (folder / item.name).symlink_to(item)
    (folder / "kb_model.json").unlink()   # identity by file names and sizes, as for any local folder
    (folder / "kb_model.json").write_text((source / "kb_model.json").read_text().replace("source_sha256", "x"))
    before = folder_fingerprint(folder)
    (folder / "kb_encoder-stale-v0.onnx").write_bytes(b"an export of an older model")
    (folder / "kb_encoder-stale-v0-query-int8-1.onnx").write_bytes(b"made from an older export")
    encoder = load_encoder(str(folder), tmp_path, backend="onnx")
    assert encoder.onnx_file == export_path(folder) and encoder.onnx_file.is_file()
    assert folder_fingerprint(folder) == before == encoder.fingerprint()
    # The stale exports are gone; the sparse head's graph is kept beside the export.
    assert sorted(p.name for p in folder.glob("*.onnx")) == sorted(
        [encoder.onnx_file.name, f"{SPARSE_CACHE_PREFIX}{encoder.sparse_fingerprint}.onnx"])
    assert not list(folder.glob("*.tmp"))
    reference = load_encoder(DEFAULT_MODEL, MODEL_DATA_DIR, backend="torch")
    assert _cosines(encoder.encode_queries(TEXTS[:3]), reference.encode_queries(TEXTS[:3])).min() >= DENSE_MIN_COSINE
    # int8 queries: their graph is made from the export once, beside it, and the folder keeps its identity.
    quick = load_encoder(str(folder), tmp_path, backend="onnx", query_precision="int8")
    made = int8_path(encoder.onnx_file)
    assert made.is_file() and made.stat().st_size < encoder.onnx_file.stat().st_size / 3   # int8 weights
    assert folder_fingerprint(folder) == before == quick.fingerprint()
    assert not list(folder.glob("*.tmp"))
    stamp = made.stat().st_mtime_ns
    assert load_encoder(str(folder), tmp_path, query_precision="int8").query_precision == "int8"
    assert made.stat().st_mtime_ns == stamp   # kept, not made again
    assert _cosines(quick.encode_queries(TEXTS[:3]), encoder.encode_queries(TEXTS[:3])).min() >= 0.98


def test_non_bert_folder_needs_sentence_transformers(tmp_path, monkeypatch):
    folder = tmp_path / "xlmr"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "xlm-roberta"}))
    for backend in ("onnx", "torch"):
        with pytest.raises(ModelNotAvailable, match="KB_EMBEDDING_BACKEND=sentence-transformers"):
            load_encoder(str(folder), tmp_path, backend=backend)
    # without an explicit choice the default backend steps aside
    monkeypatch.setitem(BACKENDS, "sentence-transformers", lambda path, threads, batch_threads: ("st", path))
    assert load_encoder(str(folder), tmp_path) == ("st", folder)
    with pytest.raises(ValueError, match="unknown embedding backend"):
        load_encoder(str(folder), tmp_path, backend="tensorflow")


def test_backend_setting_is_validated():
    from kb.settings import load_settings

    assert load_settings(environ={})["embedding_backend"] == DEFAULT_BACKEND == "onnx"
    for name in BACKENDS:
        assert load_settings(environ={"KB_EMBEDDING_BACKEND": name})["embedding_backend"] == name
    with pytest.raises(ValueError, match="KB_EMBEDDING_BACKEND"):
        load_settings(environ={"KB_EMBEDDING_BACKEND": "tensorflow"})
    assert issubclass(UnsupportedModel, ValueError)
