"""`kb bench ...`: quality (and, later, speed) measurements."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from bench.convert import convert_swefaq, convert_swequad
from bench.quality import evaluate
from kb.cli import cli
from kb.embedding.factory import encoder_from_settings

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks"


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
