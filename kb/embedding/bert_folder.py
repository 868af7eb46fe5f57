"""What the BERT backends (bert_torch.py, bert_onnx.py) need from a model folder, without importing torch.

A sentence-transformers folder of a BERT model with mean pooling: check that a backend can run
it exactly as sentence-transformers would, and load its tokenizer the same way.
"""
from __future__ import annotations

import json
from pathlib import Path

from kb.embedding.common import UnsupportedModel

# BertConfig.hidden_act values the backends reproduce exactly (bert_torch.ACTIVATIONS implements them).
ACTIVATION_NAMES = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu")
WEIGHTS = "model.safetensors"
# The sentence-transformers modules this backend implements (anything else needs that library).
KNOWN_MODULES = {"Transformer", "Pooling", "Normalize"}


def read_json(path: Path) -> dict:
    """A JSON file of the model folder, or {} when it does not exist."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def check_folder(path: Path) -> dict:
    """The folder's BERT config; raises UnsupportedModel when this backend cannot run it like sentence-transformers."""
    config = read_json(path / "config.json")
    if config.get("model_type") != "bert":
        raise UnsupportedModel(f"{path}: model_type {config.get('model_type')!r} is not 'bert'")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise UnsupportedModel(f"{path}: position_embedding_type {config['position_embedding_type']!r}")
    if config.get("hidden_act") not in ACTIVATION_NAMES:
        raise UnsupportedModel(f"{path}: hidden_act {config.get('hidden_act')!r}")
    for name in (WEIGHTS, "tokenizer.json"):
        if not (path / name).is_file():
            raise UnsupportedModel(f"{path}: no {name}")
    modules = json.loads((path / "modules.json").read_text()) if (path / "modules.json").is_file() else []
    kinds = {m["type"].rsplit(".", 1)[-1]: m for m in modules}
    if not kinds.keys() <= KNOWN_MODULES:
        raise UnsupportedModel(f"{path}: sentence-transformers modules {sorted(kinds.keys() - KNOWN_MODULES)}")
    if "Pooling" in kinds:
        pooling = read_json(path / kinds["Pooling"]["path"] / "config.json")
        modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True)
        if modes != ["pooling_mode_mean_tokens"] or pooling.get("include_prompt", True) is not True:
            raise UnsupportedModel(f"{path}: pooling {modes} (only mean pooling over all tokens is implemented)")
    if read_json(path / "sentence_bert_config.json").get("do_lower_case"):
        raise UnsupportedModel(f"{path}: do_lower_case")
    return config


def max_seq_length(path: Path, config: dict) -> int:
    """Tokens per text the model reads: the folder's max_seq_length, at most its position embeddings."""
    max_positions = config["max_position_embeddings"]
    return min(read_json(path / "sentence_bert_config.json").get("max_seq_length") or max_positions, max_positions)


def load_tokenizer(path: Path, config: dict):
    """The folder's fast tokenizer, truncating at max_seq_length and padding like sentence-transformers."""
    from tokenizers import Tokenizer

    max_length = max_seq_length(path, config)
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    pad_id = config.get("pad_token_id") or 0
    tokenizer.enable_padding(pad_id=pad_id, pad_token=tokenizer.id_to_token(pad_id) or "[PAD]")
    return tokenizer, max_length
