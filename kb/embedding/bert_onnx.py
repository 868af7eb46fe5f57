"""The ONNX Runtime backend: the BERT of bert_torch.py, exported once to ONNX and run without torch.

Why: one query through ONNX Runtime takes about 13 ms against 22 ms in torch on this
machine (p95 19 vs 31 ms), and a serving process that never imports torch starts about
1 s sooner. The export covers the transformer layers only; the embedding lookup stays a
memory-mapped numpy read of model.safetensors, so the 384 MB word-embedding matrix is
neither copied into the ONNX file nor held in memory (only the rows a text uses are paged
in). Exporting needs torch (`kb model build` does it once, next to the weights); running
needs onnxruntime, numpy and tokenizers.

Queries can run through an int8 copy of the same graph (`query_precision="int8"`, made from the
export with onnxruntime's dynamic quantisation, per output channel): the passages in the index
stay float32, only the one short text a search embeds takes the cheaper path (docs/benchmarks.md
gives the time saved and what it costs in quality).
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.embedding.bert_folder import WEIGHTS, check_folder, load_tokenizer, max_seq_length, read_json
from kb.embedding.common import DERIVED_PREFIX, TokenStateEncoder, folder_fingerprint
from kb.embedding.ort_sessions import OrtSessions
from kb.embedding.sparse_head import CACHE_PREFIX as SPARSE_CACHE_PREFIX
from kb.embedding.unigram_subset import UnigramPieces
from kb.settings import QUERY_PRECISIONS

EXPORT_PREFIX = DERIVED_PREFIX  # kb_encoder-<model fingerprint>-v<EXPORT_VERSION>.onnx, in the model folder
EXPORT_VERSION = 1              # bump when the exported graph changes
INT8_VERSION = 1                # bump when the int8 query graph is made another way
OPSET = 17
_EMBEDDINGS = ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
               "embeddings.token_type_embeddings.weight")


def export_path(path: Path) -> Path:
    """Where the ONNX export of this model folder lives."""
    return path / f"{EXPORT_PREFIX}{folder_fingerprint(path)}-v{EXPORT_VERSION}.onnx"


def ensure_export(path: Path) -> Path:
    """The folder's ONNX export, made now with torch if it is missing (atomic: never half a file)."""
    target = export_path(path)
    if target.is_file():
        return target
    import torch

    from kb.embedding.bert_torch import BertModule

    module = BertModule(path)

    class Layers(torch.nn.Module):
        def forward(self, embeddings, attention_mask):
            return module.layers_forward(embeddings, attention_mask)

    # A padded example: the graph must carry the attention mask for every batch.
    example = (torch.zeros(2, 5, module.hidden), torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]))
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    dynamic = {0: "batch", 1: "length"}
    # The TorchScript-based exporter: the torch.export-based one needs onnxscript and more, and
    # torch is pinned (requirements.txt), so its deprecation notice is not news at every export.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(Layers(), example, str(tmp), input_names=["embeddings", "attention_mask"],
                          output_names=["states"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={"embeddings": dynamic, "attention_mask": dynamic, "states": dynamic})
    os.replace(tmp, target)
    for stale in path.glob(f"{EXPORT_PREFIX}*.onnx"):   # exports of an earlier model or graph version
        # The head's own graph stays, and so does what is derived from this export (the int8 query graph).
        if not stale.name.startswith((target.stem, SPARSE_CACHE_PREFIX)):
            stale.unlink(missing_ok=True)
    return target


class _DropAdvice(logging.Filter):
    """Drops onnxruntime's advice to pre-process a graph, which is about static quantisation."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing" not in record.getMessage()


def int8_path(export: Path) -> Path:
    """Where the int8 query graph made from this export lives (beside it, named after it)."""
    return export.with_name(f"{export.stem}-query-int8-{INT8_VERSION}.onnx")


def ensure_int8(export: Path) -> Path:
    """The int8 copy of an export, made now if missing (about a second; atomic: never half a file).

    The exporter writes every weight as a Constant node, which the quantiser does not look at:
    they become initialisers first. Then each MatMul against a weight is quantised dynamically
    (weights int8 per output channel, activations per call); per-channel with the 7-bit range
    kept the query vectors at cosine 0.993-0.999 to float32, per-tensor at 0.981-0.99.
    """
    target = int8_path(export)
    if target.is_file():
        return target
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(export))
    constants = [node for node in graph.graph.node if node.op_type == "Constant"
                 and len(node.attribute) == 1 and node.attribute[0].name == "value"]
    for node in constants:
        tensor = node.attribute[0].t
        tensor.name = node.output[0]
        graph.graph.initializer.append(tensor)
        graph.graph.node.remove(node)
    tag = f".{os.getpid()}.tmp"
    staged, tmp = target.with_name(target.name + ".in" + tag), target.with_name(target.name + tag)
    try:
        onnx.save(graph, str(staged))
        root = logging.getLogger()
        advice = _DropAdvice()   # the quantiser logs "consider pre-processing" (for static quantisation) each time
        root.addFilter(advice)
        try:
            quantize_dynamic(str(staged), str(tmp), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8,
                             per_channel=True, reduce_range=True)
        finally:
            root.removeFilter(advice)
        os.replace(tmp, target)
    finally:
        staged.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return target


def read_safetensors(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Memory-mapped float32 arrays of the named tensors (a "bert." prefix is ignored)."""
    with open(path, "rb") as handle:
        header_size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(header_size))
    found = {}
    for key, entry in header.items():
        name = key.removeprefix("bert.")
        if name in names:
            if entry["dtype"] != "F32":
                raise ValueError(f"{path}: {key} is {entry['dtype']}, expected F32")
            start, _end = entry["data_offsets"]
            found[name] = np.memmap(path, dtype=np.float32, mode="r", offset=8 + header_size + start,
                                    shape=tuple(entry["shape"]))
    missing = set(names) - found.keys()
    if missing:
        raise ValueError(f"{path}: no {sorted(missing)}")
    return found


class OnnxBertEncoder(TokenStateEncoder):
    """Encoder for BERT sentence-transformers folders on ONNX Runtime: same vectors, faster queries."""

    def __init__(self, model_path: str | Path, threads: int = 1, query_cache_size: int = 2048, batch_threads: int = 2,
                 query_precision: str = "float32"):
        if query_precision not in QUERY_PRECISIONS:
            raise ValueError(f"query precision {query_precision!r} is not one of {', '.join(QUERY_PRECISIONS)}")
        path = Path(model_path)
        config = check_folder(path)
        self.threads, self.batch_threads = max(1, threads), max(1, batch_threads)
        self._config = config   # for the tokenizer, loaded at the first encode
        self.max_seq_length = max_seq_length(path, config)
        weights = read_safetensors(path / WEIGHTS, _EMBEDDINGS)
        self.word, self.positions = weights[_EMBEDDINGS[0]], weights[_EMBEDDINGS[1]]
        self.token_type = np.array(weights[_EMBEDDINGS[2]][0])   # one segment: type 0
        self.dimension = int(config["hidden_size"])
        self.onnx_file = ensure_export(path)
        self._sessions = OrtSessions(str(self.onnx_file))   # made at the first encode, like the tokenizer
        self.query_precision = query_precision
        self._query_sessions = self._sessions if query_precision == "float32" \
            else OrtSessions(str(ensure_int8(self.onnx_file)))
        self._subset_left = self.SUBSET_PASSAGES
        prompts = read_json(path / "config_sentence_transformers.json").get("prompts") or {}
        self._init_shared(path, prompts, query_cache_size)

    # Up to this many passages are tokenised with only the pieces they contain (unigram_subset.py),
    # so a `kb index` that embeds one edited article never loads the whole tokenizer; past it (a
    # bigger build) one whole load beats a small tokenizer per batch.
    SUBSET_PASSAGES = 64

    @cached_property
    def tokenizer(self):
        """The folder's whole tokenizer, loaded when first needed.

        XLM-R's 250 002 pieces take 0.6-1.4 s to load (holding the GIL); a `kb index` with nothing
        to embed never needs them, and one with a few passages uses `_pieces`. Serving processes
        load it at start-up (their first query), the watcher before it watches (warm_up).
        """
        return load_tokenizer(self.path, self._config)[0]   # self.path: set by _init_shared

    @cached_property
    def _pieces(self) -> UnigramPieces | None:
        """The tokenizer's pieces for small tokenizers, or None when it is not a Unigram one."""
        try:
            return UnigramPieces(self.path / "tokenizer.json", self.max_seq_length,
                                 self._config.get("pad_token_id") or 0)
        except (ValueError, KeyError, TypeError):   # anything unexpected: the whole tokenizer is always right
            return None

    def warm_up(self) -> None:
        """Load the whole tokenizer and run one encode: a long-lived process then never waits for them."""
        self.tokenizer
        super().warm_up()

    def _encode_one_query(self, text: str) -> tuple[np.ndarray, object]:
        self.tokenizer   # a serving process encodes queries by the thousand: load the whole tokenizer once
        return super()._encode_one_query(text)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries with the model's query prefix; int8 ones one text per pass.

        The int8 graph scales activations over the whole batch, so a query batched with others would
        get another vector than the same query searched alone (cosine 0.997 seen).
        """
        if self.query_precision == "float32" or len(texts) < 2:
            return super().encode_queries(texts)
        return np.concatenate([self._token_states([self.query_prefix + text], self.threads, search=True)[0]
                               for text in texts])

    def _ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention masks of a batch, padded to its longest text."""
        if "tokenizer" not in self.__dict__ and len(texts) <= self._subset_left and self._pieces is not None:
            self._subset_left -= len(texts)
            return self._pieces.encode(texts)
        encodings = self.tokenizer.encode_batch(texts)
        return (np.array([e.ids for e in encodings], dtype=np.int64),
                np.array([e.attention_mask for e in encodings], dtype=np.int64))

    def _token_states(self, texts: list[str], threads: int, search: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """Normalised mean-pooled vectors [B, H] and each text's content-token states, from one pass.

        `search`: texts a search embeds (queries), run through the query graph (int8 if so set).
        """
        ids, mask = self._ids(texts)
        embeddings = self.word[ids] + self.positions[:ids.shape[1]] + self.token_type
        feeds = {"embeddings": embeddings.astype(np.float32, copy=False), "attention_mask": mask}
        (states,) = (self._query_sessions if search else self._sessions).get(threads).run(["states"], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (states * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        vectors = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return vectors.astype(np.float32), [states[row, 1:n - 1] for row, n in enumerate(mask.sum(1).tolist())]
