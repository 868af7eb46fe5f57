"""`kb search`."""
from __future__ import annotations

import json

import click

from indexer import versions
from indexer.versions import NoIndex
from kb.cli import cli, today_from
from kb.embedding.factory import ModelNotAvailable, encoder_from_settings
from search.searcher import IndexModelMismatch, Searcher


def open_searcher(settings: dict) -> Searcher:
    """A Searcher for the configured data directory, with a clear error when there is no usable index."""
    try:
        versions.current_version(settings["data_dir"])  # fail fast, before loading the model
        encoder = encoder_from_settings(settings)
        return Searcher(settings["data_dir"], encoder, fuzzy=settings["fuzzy_fallback"],
                        max_query_length=settings["max_query_length"], today=today_from(settings),
                        keyword_backend=settings["keyword_backend"])
    except (NoIndex, IndexModelMismatch, ModelNotAvailable) as exc:
        raise click.ClickException(str(exc)) from None


@cli.command("search")
@click.argument("query")
@click.option("--office", default=None, help="Only this office (folder key).")
@click.option("--group", default=None, help="Only this answer group.")
@click.option("--audience", type=click.Choice(["public", "internal"]), default="public",
              help="public: what residents see; internal: what handlers see.")
@click.option("--lang", "language", default=None, help="Only articles in this language (sv, fi, en, ...).")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 100), help="Number of hits.")
@click.option("--method", type=click.Choice(["hybrid", "keyword", "vector"]), default="hybrid")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--explain", is_flag=True, help="Show each signal's rank and score per hit.")
@click.pass_obj
def search_command(settings, query, office, group, audience, language, k, method, as_json, explain) -> None:
    """Search the knowledge bank, as a resident (public) or a handler (internal) would."""
    searcher = open_searcher(settings)
    result = searcher.search(query, office=office, group=group, audience=audience, language=language, k=k,
                             method=method)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    verdict = "low confidence: no good answer found" if result.low_confidence else "confident"
    click.echo(f"{len(result.hits)} hits in {result.took_ms:.1f} ms ({verdict}, {result.confidence:.2f})")
    for rank, hit in enumerate(result.hits, start=1):
        marker = " [internal]" if hit.audience == "internal" else ""
        click.echo(f"{rank:2}. {hit.title}{marker}\n    {hit.id} · {hit.office} · {hit.language} · score {hit.score:.3f}")
        if explain:
            kw, vec = hit.signals["keyword"], hit.signals["vector"]
            click.echo(f"    keyword rank {kw['rank']} score {kw['score']}; vector rank {vec['rank']} "
                       f"cosine {vec['score']}; coverage {result.keyword_coverage:.2f}; confidence {hit.confidence}")
        for t in hit.translations:
            click.echo(f"    also in {t['language']}: {t['id']}")
