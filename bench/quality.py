"""Search quality: Recall@1, Recall@5, MRR@10 and latency for keyword, vector and hybrid, in one run."""
from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from indexer.build import build_index
from kb.embedding.base import Encoder
from search.searcher import METHODS, Searcher


def read_queries(path: Path) -> list[dict]:
    """Queries file: one {"query": ..., "relevant": [ids]} object per line (blank lines ignored)."""
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            record = json.loads(line)
            if not record.get("query") or not record.get("relevant"):
                raise ValueError(f"{path}:{number}: each line needs 'query' and 'relevant'")
            queries.append(record)
    return queries


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def score_method(searcher: Searcher, queries: list[dict], method: str, audience: str = "internal") -> dict:
    """Run every query through one method and score it."""
    r1 = r5 = mrr = 0.0
    latencies = []
    # Each method pays for its own query embeddings: no cache warmed by the method before.
    getattr(searcher.encoder, "clear_cache", lambda: None)()
    for record in queries:
        relevant = set(record["relevant"])
        started = time.perf_counter()
        result = searcher.search(record["query"], k=10, method=method, audience=audience)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [hit.id for hit in result.hits]
        first = next((i for i, article_id in enumerate(ranked, start=1) if article_id in relevant), None)
        r1 += first == 1
        r5 += first is not None and first <= 5
        mrr += 1 / first if first else 0.0
    n = max(1, len(queries))
    return {"recall@1": round(r1 / n, 4), "recall@5": round(r5 / n, 4), "mrr@10": round(mrr / n, 4),
            "p50_ms": round(statistics.median(latencies), 2) if latencies else 0.0,
            "p95_ms": round(percentile(latencies, 95), 2), "queries": len(queries)}


def superlim_accuracy(searcher: Searcher, queries: list[dict]) -> float | None:
    """SweFAQ's official task: pick the right answer among the candidates of the question's own category."""
    scored = [q for q in queries if q.get("candidates")]
    if not scored:
        return None
    right = 0
    for record in scored:
        result = searcher.search(record["query"], office=record.get("office"), k=len(record["candidates"]),
                                 audience="internal")
        top = next((h.id for h in result.hits if h.id in record["candidates"]), None)
        right += top in record["relevant"]
    return round(right / len(scored), 4)


def evaluate(content_dir: Path, queries_file: Path, encoder: Encoder, *, data_dir: Path | None = None,
             searcher_options: dict | None = None) -> dict:
    """Index `content_dir` into a temporary location and score every method on the queries."""
    queries = read_queries(queries_file)
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        index_dir = data_dir or Path(tmp)
        report = build_index(content_dir, index_dir, encoder, full=True)
        searcher = Searcher(index_dir, encoder, **(searcher_options or {}))
        for record in queries[:5]:  # warm the caches and code paths before timing
            searcher.search(record["query"] + " uppvärmning")
        methods = {method: score_method(searcher, queries, method) for method in ("keyword", "vector", "hybrid")}
        result = {"methods": methods,
                  "index": {"articles": report.articles, "chunks": report.chunks, "seconds": round(report.seconds, 1)}}
        accuracy = superlim_accuracy(searcher, queries)
        if accuracy is not None:
            result["superlim_accuracy"] = accuracy
    assert set(methods) == set(METHODS)
    return result
