"""`kb bench ...`: search quality and speed measurements."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from bench.convert import convert_swefaq, convert_swequad
from bench.quality import evaluate
from bench.synthetic import SHARED
from kb.cli import cli
from kb.embedding.factory import encoder_from_settings


@cli.group("bench")
def bench_group() -> None:
    """Benchmarks of search quality and speed."""


@bench_group.command("quality")
@click.option("--content", "content_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Content folder to index (into a temporary location).")
@click.option("--queries", "queries_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help='JSON lines: {"query": "...", "relevant": ["id", ...]}.')
@click.option("--json", "as_json", is_flag=True, help="Print exactly the JSON result.")
@click.pass_obj
def quality_command(settings: dict, content_dir: str, queries_file: str, as_json: bool) -> None:
    """Recall@1, Recall@5, MRR@10 and latency for keyword, vector and hybrid in one run."""
    encoder = encoder_from_settings(settings)
    result = evaluate(Path(content_dir), Path(queries_file), encoder)
    if as_json:
        click.echo(json.dumps({"methods": result["methods"]}))
        return
    click.echo(f"{'method':8} {'R@1':>6} {'R@5':>6} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for name, m in result["methods"].items():
        click.echo(f"{name:8} {m['recall@1']:6.3f} {m['recall@5']:6.3f} {m['mrr@10']:7.3f} "
                   f"{m['p50_ms']:7.1f} {m['p95_ms']:7.1f}")
    if "superlim_accuracy" in result:
        click.echo(f"SweFAQ (SuperLim task) accuracy: {result['superlim_accuracy']:.3f}")
    click.echo(f"index: {result['index']['articles']} articles, {result['index']['chunks']} chunks, "
               f"{result['index']['seconds']} s")


@bench_group.command("convert")
@click.argument("dataset", type=click.Choice(["swefaq", "swequad"]))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--source", type=click.Path(exists=True, file_okay=False), default=str(SHARED),
              help="The shared benchmarks folder.")
def convert_command(dataset: str, out_dir: str, source: str) -> None:
    """Write a content folder and queries.jsonl from a shared dataset."""
    src, out = Path(source), Path(out_dir)
    if dataset == "swefaq":
        content, queries = convert_swefaq(src / "swefaq" / "swefaq_dev.jsonl", out)
    else:
        sq = src / "swequad-mc"
        content, queries = convert_swequad([sq / "training.json", sq / "dev.json"], sq / "dev.json", out)
    click.echo(f"content: {content}\nqueries: {queries}")


def _sizes(_ctx, _param, value: str) -> list[int]:
    """Parse "1000,10000,100000" into sizes, refusing anything else with a clear message."""
    try:
        sizes = [int(part.replace("_", "")) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r}: give article counts separated by commas, e.g. 1000,10000,100000")
    if not sizes or any(n < 10 or n > 1_000_000 for n in sizes):
        raise click.BadParameter(f"{value!r}: each size must be between 10 and 1 000 000 articles")
    return sizes


@bench_group.command("speed")
@click.option("--articles", "sizes", default="1000,10000,100000", show_default=True, callback=_sizes,
              help="Synthetic corpus sizes, comma-separated.")
@click.option("--queries", "query_count", default=500, show_default=True, type=click.IntRange(5, 100_000),
              help="Queries with a known target per size.")
@click.option("--http/--no-http", default=True, show_default=True, help="Load gunicorn at 1, 8 and 32 clients.")
@click.option("--http-requests", default=300, show_default=True, type=click.IntRange(1, 100_000),
              help="Requests per concurrency level (each a query not asked before).")
@click.option("--peers/--no-peers", "with_peers", default=True, show_default=True,
              help="Run txtai and tantivy too, where installed (requirements-bench.txt).")
@click.option("--peers-max-articles", default=1_000_000, show_default=True, type=click.IntRange(0),
              help="Run the peers only at sizes up to this many articles (txtai's build is as long as ours).")
@click.option("--hashed-from", default=100_000, show_default=True, type=click.IntRange(0),
              help="Sizes of at least this many articles get corpus vectors from a hash instead of the model "
                   "(a cold model build of 100 000 takes ~9 h here; queries still use the model; 0: never). "
                   "See bench/hashed.py.")
@click.option("--keep/--no-keep", "keep_previous", default=True, show_default=True,
              help="Keep the figures of sizes not run now from the results file (split a long run over days).")
@click.option("--work-dir", type=click.Path(file_okay=False), default=None,
              help="Where synthetic corpora are cached and indexes built; default <data_dir>/bench.")
@click.option("--results", "results_file", type=click.Path(dir_okay=False), default=None,
              help="Results JSON; default bench/results/speed.json.")
@click.option("--docs/--no-docs", "write_docs", default=True, show_default=True,
              help="Rewrite the speed section of docs/benchmarks.md and its plot.")
@click.pass_obj
def speed_command(settings: dict, sizes: list[int], query_count: int, http: bool, http_requests: int,
                  with_peers: bool, peers_max_articles: int, hashed_from: int, keep_previous: bool,
                  work_dir: str | None,
                  results_file: str | None, write_docs: bool) -> None:
    """Build time, incremental update, memory, start-up, latency p50/p95/p99, HTTP and peers per corpus size."""
    from bench import report
    from bench.speed import WorkerFailed, run_speed
    from kb.embedding.factory import ModelNotAvailable, ensure_model
    from kb.settings import PROJECT_ROOT

    try:
        model_path = ensure_model(settings["embedding_model"], settings["data_dir"], settings["model_cache"] or None)
    except ModelNotAvailable as exc:
        raise click.ClickException(str(exc)) from None
    work = Path(work_dir) if work_dir else Path(settings["data_dir"]) / "bench"
    out = Path(results_file) if results_file else PROJECT_ROOT / "bench" / "results" / "speed.json"
    previous = None
    if keep_previous and out.exists():
        try:
            previous = json.loads(out.read_text())
        except ValueError:
            raise click.ClickException(f"{out} is not a results file; remove it or use --no-keep") from None
    out.parent.mkdir(parents=True, exist_ok=True)

    def save(results: dict) -> None:   # after every step too: a cut run keeps what it measured
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False))

    try:
        results = run_speed(sizes, work, model_path, query_count=query_count, http=http,
                            http_requests=http_requests, with_peers=with_peers, peers_max_articles=peers_max_articles,
                            hashed_from=hashed_from, previous=previous, checkpoint=save,
                            index_threads=settings["index_threads"], batch_size=settings["encode_batch_size"],
                            query_precision=settings["query_precision"])
    except WorkerFailed as exc:
        raise click.ClickException(f"{exc}\nFigures measured before it: {out}") from None
    save(results)
    command = "kb bench speed --articles " + ",".join(str(s["articles"]) for s in results["sizes"])
    if write_docs:
        docs = PROJECT_ROOT / "docs"
        plotted = report.plot(results, docs / "benchmark-speed.png")
        report.write_docs(docs / "benchmarks.md", report.section(results, command, plotted and plotted.name))
    click.echo(report.tables(results))
    click.echo(f"results: {out}")
