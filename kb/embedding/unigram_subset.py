"""Tokenize a few texts with only the Unigram pieces they contain, instead of loading all of them.

Building XLM-R's whole Unigram model (250 002 pieces) takes 0.6-1.4 s and holds the GIL: most of
a `kb index` that embeds one edited article. Viterbi can only use pieces that occur in the text,
so a model made of every piece that is a substring of the (normalised) texts, with the same scores
and special tokens, segments them exactly as the whole model does; its ids are mapped back to the
whole vocabulary's. tests/test_encoders.py compares the two on every text of the fixture corpus.
"""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np

from kb.embedding.common import DERIVED_PREFIX

META = "\u2581"  # SentencePiece's metaspace marker (the Metaspace pre-tokenizer's replacement)


class UnigramPieces:
    """The pieces of a Unigram tokenizer.json, ready to make small tokenizers for given texts."""

    def __init__(self, tokenizer_file: Path, max_length: int, pad_id: int):
        data, pieces, scores, self.longest = _read(Path(tokenizer_file))
        self._data, self._pieces, self._scores = data, pieces, scores
        self.ids = dict(zip(pieces, range(len(pieces))))
        self.max_length, self.pad_id = max_length, pad_id
        # Ids every small tokenizer keeps: unknown, padding, the added (special) tokens and the template's.
        template = (data.get("post_processor") or {}).get("special_tokens", {}).values()
        self._always = {data["model"]["unk_id"], pad_id, *(t["id"] for t in data.get("added_tokens", [])),
                        *(i for token in template for i in token["ids"])}
        self._normalizer = self._tokenizer(sorted(self._always)).normalizer

    def _tokenizer(self, kept: list[int]):
        """A tokenizer of the pieces `kept` (sorted full ids) and the same pipeline; its id i is kept[i]."""
        from tokenizers import Tokenizer

        small = {full: i for i, full in enumerate(kept)}
        data = dict(self._data, padding=None, truncation=None)
        data["model"] = dict(data["model"], vocab=[[self._pieces[i], self._scores[i]] for i in kept],
                             unk_id=small.get(data["model"]["unk_id"]))
        data["added_tokens"] = [dict(t, id=small.get(t["id"], t["id"])) for t in data.get("added_tokens", [])]
        processor = data.get("post_processor")
        if processor and processor.get("type") == "TemplateProcessing":
            data["post_processor"] = dict(processor, special_tokens={
                name: dict(token, ids=[small[i] for i in token["ids"]])
                for name, token in processor["special_tokens"].items()})
        elif processor is not None:
            raise ValueError(f"post-processor {processor.get('type')!r} is not handled")
        return Tokenizer.from_str(json.dumps(data))

    def _used(self, texts: list[str]) -> list[int]:
        """Sorted full ids of every piece that is a substring of a text, as raw and as normalised."""
        found = set(self._always)
        words = {word for text in texts for form in (text, self._normalizer.normalize_str(text))
                 for word in form.split(" ")}
        for word in words:
            # No piece holds the marker after its first character (checked at load), so a piece is
            # a substring of one space-separated word, or the marker and a prefix of one.
            for start in range(len(word)):
                for end in range(start + 1, min(start + self.longest, len(word)) + 1):
                    piece_id = self.ids.get(word[start:end])
                    if piece_id is not None:
                        found.add(piece_id)
            for end in range(min(self.longest - 1, len(word)) + 1):
                piece_id = self.ids.get(META + word[:end])
                if piece_id is not None:
                    found.add(piece_id)
        return sorted(found)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids (of the whole vocabulary) and attention masks, padded like the whole tokenizer."""
        kept = self._used(texts)
        tokenizer = self._tokenizer(kept)
        tokenizer.enable_truncation(max_length=self.max_length)
        small_pad = kept.index(self.pad_id)
        tokenizer.enable_padding(pad_id=small_pad, pad_token=self._pieces[self.pad_id])
        encodings = tokenizer.encode_batch(texts)
        ids = np.asarray(kept, dtype=np.int64)[np.array([e.ids for e in encodings], dtype=np.int64)]
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return ids, mask


def _cache_path(tokenizer_file: Path) -> Path:
    """The folder's derived copy of the pieces, named by the size and time of tokenizer.json."""
    stat = tokenizer_file.stat()
    return tokenizer_file.with_name(f"{DERIVED_PREFIX}pieces-{stat.st_size}-{stat.st_mtime_ns}.pickle")


def _read(tokenizer_file: Path) -> tuple[dict, list[str], list[float], int]:
    """The tokenizer's settings without its vocabulary, its pieces, their scores and the longest's length.

    Parsed and checked from tokenizer.json the first time (0.3-0.4 s), then unpickled (0.07 s) from
    a derived file kept in the model folder (ours, like the ONNX export); a read-only folder parses
    every time.
    """
    cache = _cache_path(tokenizer_file)
    try:
        return pickle.loads(cache.read_bytes())
    except (OSError, EOFError, pickle.UnpicklingError, ValueError):
        pass   # none yet (or unreadable): made again below
    data = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    model = data["model"]
    if model.get("type") != "Unigram":
        raise ValueError(f"{tokenizer_file}: not a Unigram tokenizer")
    pieces, scores = [p for p, _ in model["vocab"]], [s for _, s in model["vocab"]]
    if any(META in piece[1:] for piece in pieces):
        raise ValueError(f"{tokenizer_file}: a piece holds the metaspace marker inside")
    data["model"] = dict(model, vocab=[])
    found = (data, pieces, scores, max(map(len, pieces)))
    tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, cache)
        for stale in cache.parent.glob(f"{DERIVED_PREFIX}pieces-*"):
            if stale != cache:
                stale.unlink(missing_ok=True)
    except OSError:
        tmp.unlink(missing_ok=True)
    return found
