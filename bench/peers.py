"""The peers we are measured against, on the same corpus and queries (run through bench/worker.py).

- txtai as a hybrid index (its BM25 scoring + dense vectors in FAISS) with the
  same converted multilingual-e5-small folder and e5's "query: "/"passage: "
  prefixes, fed the same pieces our indexer embeds (title, questions, ~60-word
  passages, internal notes); its hits are folded to articles like ours.
- tantivy with a Swedish analyzer (lowercase, Swedish stop words, Snowball
  Swedish stemmer) against our Whoosh keyword index, one document per article
  with the same fields.

Both are optional (requirements-bench.txt): `available()` says which are installed.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from bench.quality import read_queries
from bench.worker import latency_summary, rank_scores, rss_mb


def available() -> dict[str, bool]:
    """Which peers are installed."""
    return {name: importlib.util.find_spec(name) is not None for name in ("txtai", "tantivy")}


def _pieces(content_dir: str) -> list[tuple[str, str]]:
    """(article id, text) of every piece our indexer embeds, in the same order."""
    from indexer.chunking import chunk_article
    from kb.loader import load_content

    corpus = load_content(content_dir)
    return [(c.article_id, c.text) for a in corpus.articles.values() for c in chunk_article(a)]


def _articles_from(hits, limit: int = 10) -> list[str]:
    ranked: list[str] = []
    for uid, _score in hits:
        article_id = str(uid).rsplit("#", 1)[0]
        if article_id not in ranked:
            ranked.append(article_id)
        if len(ranked) >= limit:
            break
    return ranked


def _txtai_config(model_path: str) -> dict:
    return {"path": model_path, "method": "sentence-transformers", "hybrid": True, "content": False,
            "instructions": {"query": "query: ", "data": "passage: "}, "batch": 32, "encodebatch": 32}


def txtai_build(args: dict) -> dict:
    """Index the corpus pieces with txtai (hybrid) and save it; time the build."""
    import torch
    from txtai import Embeddings

    torch.set_num_threads(args.get("index_threads", 2))  # as our indexer
    pieces = _pieces(args["content_dir"])
    started = time.perf_counter()
    embeddings = Embeddings(_txtai_config(args["model_path"]))
    embeddings.index((f"{article_id}#{i}", text, None) for i, (article_id, text) in enumerate(pieces))
    embeddings.save(args["index_dir"])
    seconds = time.perf_counter() - started
    from bench.worker import folder_size_mb

    return {"build_s": round(seconds, 2), "chunks": len(pieces), "index_mb": folder_size_mb(Path(args["index_dir"]))} | rss_mb()


def txtai_serve(args: dict) -> dict:
    """Load the saved txtai index like a server would and answer every query (one thread, like ours)."""
    import torch
    from txtai import Embeddings

    torch.set_num_threads(1)
    embeddings = Embeddings()
    embeddings.load(args["index_dir"])
    queries = read_queries(Path(args["queries_file"]))
    embeddings.search(queries[0]["query"], 50)
    result: dict = {"startup_s": round(time.time() - args["spawned_at"], 2)}
    latencies, ranked = [], []
    for record in queries:
        t = time.perf_counter()
        hits = embeddings.search(record["query"], 50)
        ranked.append(_articles_from(hits))
        latencies.append((time.perf_counter() - t) * 1000)
    result["hybrid"] = latency_summary(latencies) | rank_scores(ranked, queries)
    return result | rss_mb()


def _tantivy_index(folder: Path, documents: list[dict]):
    import tantivy

    analyzer = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
                .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stopword("swedish"))
                .filter(tantivy.Filter.stemmer("swedish")).build())
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in ("title", "alt", "tags", "body", "internal"):
        builder.add_text_field(name, tokenizer_name="sv")
    folder.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(builder.build(), path=str(folder))
    index.register_tokenizer("sv", analyzer)
    writer = index.writer(heap_size=128_000_000, num_threads=1)
    for document in documents:
        writer.add_document(tantivy.Document(**{k: [v] for k, v in document.items()}))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index


def keyword(args: dict) -> dict:
    """Our keyword side (Swedish analysis with compound splitting; Whoosh's engine and the numpy matrix
    computing the same BM25F) against tantivy (Swedish stemming): build, p95, MRR."""
    import tempfile

    from indexer import article_table, keyword_matrix
    from indexer.keyword_index import article_document, build_keyword_index
    from kb.loader import load_content
    from search.articles import column_arrays
    from search.keyword_matrix import MatrixKeywordSearcher
    from search.keyword_whoosh import WhooshKeywordSearcher

    corpus = load_content(args["content_dir"])
    articles = list(corpus.articles.values())
    queries = read_queries(Path(args["queries_file"]))
    result: dict = {}
    with tempfile.TemporaryDirectory(prefix="kb-bench-kw-") as tmp:
        t = time.perf_counter()
        build_keyword_index(Path(tmp) / "whoosh", articles)
        whoosh_s = time.perf_counter() - t
        t = time.perf_counter()
        keyword_matrix.write(Path(tmp), articles)
        matrix_s = time.perf_counter() - t
        for name, ours, build_s in (
                ("whoosh", WhooshKeywordSearcher(Path(tmp) / "whoosh", corpus.synonyms), whoosh_s),
                ("matrix", MatrixKeywordSearcher(Path(tmp), corpus.synonyms,
                                                 column_arrays(article_table.columns_of(articles))),
                 matrix_s)):
            ours.search("parkeringstillstånd förskola", 10, include_internal=True)
            result[name] = _run(lambda q, ours=ours: [h[0] for h in ours.search(q, 10, include_internal=True).hits],
                                queries)
            result[name]["build_s"] = round(build_s, 2)
        if available()["tantivy"]:
            documents = [{k: str(v) for k, v in article_document(a).items()
                          if k in ("id", "title", "alt", "tags", "body", "internal")} for a in articles]
            t = time.perf_counter()
            index = _tantivy_index(Path(tmp) / "tantivy", documents)
            build_s = time.perf_counter() - t
            searcher = index.searcher()
            fields = ["title", "alt", "tags", "body", "internal"]

            def tantivy_search(text: str) -> list[str]:
                query, _errors = index.parse_query_lenient(text, fields)
                return [searcher.doc(address)["id"][0] for _score, address in searcher.search(query, 10).hits]

            result["tantivy"] = _run(tantivy_search, queries)
            result["tantivy"]["build_s"] = round(build_s, 2)
    return result


def _run(search, queries: list[dict]) -> dict:
    latencies, ranked = [], []
    for record in queries:
        t = time.perf_counter()
        ranked.append(search(record["query"]))
        latencies.append((time.perf_counter() - t) * 1000)
    return latency_summary(latencies) | rank_scores(ranked, queries)
