"""The plain-torch backend: a BERT forward pass and the `tokenizers` library, no transformers.

Runs the same sentence-transformers folder as the other backend (config.json, model.safetensors,
tokenizer.json, mean pooling) and gives the same vectors, but importing `transformers` and
`sentence_transformers` costs about 2.6 s of a 5.8 s service start, and this path needs neither.
The weights are memory-mapped: the 384 MB embedding matrix is only paged in for the rows used.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from kb.embedding.bert_folder import ACTIVATION_NAMES, WEIGHTS, check_folder, load_tokenizer, read_json
from kb.embedding.common import TokenStateEncoder, UnsupportedModel

# The forward pass of each of bert_folder.ACTIVATION_NAMES.
ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),   # the exact erf GELU, as transformers' "gelu"
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}
# Keep the two lists in step: check_folder accepts what this module can run.
assert set(ACTIVATIONS) == set(ACTIVATION_NAMES)


class BertModule:
    """Tokenizer plus BERT encoder plus mean pooling, called like a sentence-transformers model."""

    def __init__(self, path: Path):
        from safetensors.torch import load_file

        config = check_folder(path)
        self.hidden, self.heads = config["hidden_size"], config["num_attention_heads"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.act = ACTIVATIONS[config["hidden_act"]]
        self.tokenizer, self.max_seq_length = load_tokenizer(path, config)

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
        return self.layers_forward(self.embed(ids), mask, skip_full_mask=True)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Word + position + segment embeddings [B, L, H], before the embedding LayerNorm."""
        return F.embedding(ids, self.word) + self.positions[:ids.shape[1]] + self.token_type

    def layers_forward(self, x: torch.Tensor, mask: torch.Tensor, skip_full_mask: bool = False) -> torch.Tensor:
        """The embedding LayerNorm and the transformer layers (the part bert_onnx.py exports)."""
        batch, length, _ = x.shape
        shape = (self.hidden,)
        x = F.layer_norm(x, shape, *self.embed_norm, self.eps)
        # No mask at all when nothing is padded (every single query): SDPA's fastest path.
        keep = None if skip_full_mask and bool(mask.all()) else mask.bool()[:, None, None, :]
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
        prompts = read_json(path / "config_sentence_transformers.json").get("prompts") or {}
        self._init_shared(path, prompts, query_cache_size)
