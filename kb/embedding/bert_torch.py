"""The plain-torch backend: a BERT forward pass and the `tokenizers` library, no transformers.

Runs the same sentence-transformers folder as the other backend (config.json, model.safetensors,
tokenizer.json, mean pooling) and gives the same vectors, but importing `transformers` and
`sentence_transformers` costs about 2.6 s of a 5.8 s service start, and this path needs neither.
The weights are memory-mapped: the 384 MB embedding matrix is only paged in for the rows used.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kb.embedding.common import TokenStateEncoder, UnsupportedModel

WEIGHTS = "model.safetensors"
# BertConfig.hidden_act values this forward pass reproduces exactly.
ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),   # the exact erf GELU, as transformers' "gelu"
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}
# The sentence-transformers modules this backend implements (anything else needs that library).
KNOWN_MODULES = {"Transformer", "Pooling", "Normalize"}


def _read_json(path: Path) -> dict:
    """A JSON file of the model folder, or {} when it does not exist."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def check_folder(path: Path) -> dict:
    """The folder's BERT config; raises UnsupportedModel when this backend cannot run it like sentence-transformers."""
    config = _read_json(path / "config.json")
    if config.get("model_type") != "bert":
        raise UnsupportedModel(f"{path}: model_type {config.get('model_type')!r} is not 'bert'")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise UnsupportedModel(f"{path}: position_embedding_type {config['position_embedding_type']!r}")
    if config.get("hidden_act") not in ACTIVATIONS:
        raise UnsupportedModel(f"{path}: hidden_act {config.get('hidden_act')!r}")
    for name in (WEIGHTS, "tokenizer.json"):
        if not (path / name).is_file():
            raise UnsupportedModel(f"{path}: no {name}")
    modules = json.loads((path / "modules.json").read_text()) if (path / "modules.json").is_file() else []
    kinds = {m["type"].rsplit(".", 1)[-1]: m for m in modules}
    if not kinds.keys() <= KNOWN_MODULES:
        raise UnsupportedModel(f"{path}: sentence-transformers modules {sorted(kinds.keys() - KNOWN_MODULES)}")
    if "Pooling" in kinds:
        pooling = _read_json(path / kinds["Pooling"]["path"] / "config.json")
        modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True)
        if modes != ["pooling_mode_mean_tokens"] or pooling.get("include_prompt", True) is not True:
            raise UnsupportedModel(f"{path}: pooling {modes} (only mean pooling over all tokens is implemented)")
    if _read_json(path / "sentence_bert_config.json").get("do_lower_case"):
        raise UnsupportedModel(f"{path}: do_lower_case")
    return config


class BertModule:
    """Tokenizer plus BERT encoder plus mean pooling, called like a sentence-transformers model."""

    def __init__(self, path: Path):
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = check_folder(path)
        self.hidden, self.heads = config["hidden_size"], config["num_attention_heads"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.act = ACTIVATIONS[config["hidden_act"]]
        max_positions = config["max_position_embeddings"]
        self.max_seq_length = min(
            _read_json(path / "sentence_bert_config.json").get("max_seq_length") or max_positions, max_positions)
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        pad_id = config.get("pad_token_id") or 0
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token=self.tokenizer.id_to_token(pad_id) or "[PAD]")

        # mmap'd (safetensors' default backend): nothing is read until a tensor is used.
        weights = {k.removeprefix("bert."): v for k, v in load_file(str(path / WEIGHTS)).items()}
        try:
            self._take(weights, config["num_hidden_layers"])
        except KeyError as exc:
            raise UnsupportedModel(f"{path}: no weight {exc} in {WEIGHTS}") from None

    def _take(self, weights: dict, layers: int) -> None:
        """Keep the tensors the forward pass uses (views of the mapped file, except the fused Q/K/V)."""
        self.word = weights["embeddings.word_embeddings.weight"]
        self.positions = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]   # one segment: type 0
        self.embed_norm = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        self.layers = [self._layer(weights, f"encoder.layer.{i}.") for i in range(layers)]

    @staticmethod
    def _layer(weights: dict, p: str) -> dict:
        """One layer's tensors; Q, K and V fused into one matrix so each layer does one projection."""
        def pair(name: str) -> tuple:
            return weights[f"{p}{name}.weight"], weights[f"{p}{name}.bias"]

        q, k, v = (pair(f"attention.self.{name}") for name in ("query", "key", "value"))
        return {
            "qkv": (torch.cat([q[0], k[0], v[0]]), torch.cat([q[1], k[1], v[1]])),
            "out": pair("attention.output.dense"), "out_norm": pair("attention.output.LayerNorm"),
            "up": pair("intermediate.dense"), "down": pair("output.dense"), "down_norm": pair("output.LayerNorm"),
        }

    def tokenize(self, texts: list[str]) -> dict:
        """Token ids and attention mask, truncated to max_seq_length and padded to the longest text."""
        encodings = self.tokenizer.encode_batch(texts)
        return {"input_ids": torch.tensor([e.ids for e in encodings], dtype=torch.long),
                "attention_mask": torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)}

    def __call__(self, features: dict) -> dict:
        """The features plus last-layer "token_embeddings" and the mean-pooled, normalised "sentence_embedding"."""
        ids, mask = features["input_ids"], features["attention_mask"]
        states = self.forward(ids, mask)
        weights = mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return {**features, "token_embeddings": states, "sentence_embedding": F.normalize(pooled, dim=-1)}

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Last-layer hidden states [B, L, H] of BERT (post-LayerNorm layers, absolute positions from 0)."""
        batch, length = ids.shape
        shape = (self.hidden,)
        x = F.embedding(ids, self.word) + self.positions[:length] + self.token_type
        x = F.layer_norm(x, shape, *self.embed_norm, self.eps)
        # No mask at all when nothing is padded (every single query): SDPA's fastest path.
        keep = None if bool(mask.all()) else mask.bool()[:, None, None, :]
        for layer in self.layers:
            q, k, v = (F.linear(x, *layer["qkv"]).view(batch, length, 3, self.heads, -1)
                       .permute(2, 0, 3, 1, 4).unbind(0))
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            context = context.transpose(1, 2).reshape(batch, length, self.hidden)
            x = F.layer_norm(F.linear(context, *layer["out"]) + x, shape, *layer["out_norm"], self.eps)
            x = F.layer_norm(F.linear(self.act(F.linear(x, *layer["up"])), *layer["down"]) + x,
                             shape, *layer["down_norm"], self.eps)
        return x


class TorchBertEncoder(TokenStateEncoder):
    """Encoder for BERT sentence-transformers folders in plain torch: fast start, same vectors."""

    def __init__(self, model_path: str | Path, threads: int = 1, query_cache_size: int = 2048, batch_threads: int = 2):
        # One thread for single queries (robust when the CPU is shared), more for batches.
        self.threads, self.batch_threads = max(1, threads), max(1, batch_threads)
        torch.set_num_threads(self.threads)
        path = Path(model_path)
        self.model = BertModule(path)
        self.dimension = self.model.hidden
        prompts = _read_json(path / "config_sentence_transformers.json").get("prompts") or {}
        self._init_shared(path, prompts, query_cache_size)

    def _encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        torch.set_num_threads(self.batch_threads if len(texts) > 1 else self.threads)
        # Longest first, as sentence-transformers does: batches of similar length pad little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        starts = range(0, len(texts), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Batches")
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in starts:
            rows = order[start:start + batch_size]
            with torch.inference_mode():
                out = self.model(self.model.tokenize([texts[i] for i in rows]))
            vectors[rows] = out["sentence_embedding"].numpy()
        return vectors
