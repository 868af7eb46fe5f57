"""Compare fusion methods and weights on a benchmark, from one pass of retrieval.

Usage: python -m bench.fusion_sweep CONTENT_DIR QUERIES_FILE [DATA_DIR]
Prints MRR@10 / R@1 / R@5 for keyword, vector and each fusion setting, so a
change to fusion is chosen on figures, not taste.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.quality import read_queries
from indexer.build import build_index
from kb.embedding.factory import DEFAULT_MODEL, load_encoder
from search.fusion import fuse
from search.searcher import CANDIDATES, Searcher, clean_query


def collect(searcher: Searcher, queries: list[dict]) -> list[tuple[list, list, float, set]]:
    """Keyword and vector candidate lists for every query."""
    snap = searcher.snapshot
    rows = []
    for record in queries:
        text = clean_query(record["query"])
        kw = snap.keyword.search(text, CANDIDATES, include_internal=True)
        vec = snap.vector.search(searcher.encoder.encode_queries([text])[0], CANDIDATES, include_internal=True)
        rows.append((kw.hits, [(a, s) for a, s, _ in vec], kw.coverage, set(record["relevant"])))
    return rows


def metrics(ranked_lists: list[list[str]], relevant: list[set]) -> tuple[float, float, float]:
    """(MRR@10, R@1, R@5)."""
    mrr = r1 = r5 = 0.0
    for ranked, rel in zip(ranked_lists, relevant):
        first = next((i for i, a in enumerate(ranked[:10], start=1) if a in rel), None)
        mrr += 1 / first if first else 0
        r1 += first == 1
        r5 += bool(first and first <= 5)
    n = len(relevant)
    return mrr / n, r1 / n, r5 / n


def main(argv: list[str]) -> None:
    """Run the sweep and print one line per setting."""
    content, queries_file = Path(argv[0]), Path(argv[1])
    encoder = load_encoder(DEFAULT_MODEL, argv[2] if len(argv) > 2 else "data")
    queries = read_queries(queries_file)
    with tempfile.TemporaryDirectory() as tmp:
        build_index(content, tmp, encoder, full=True)
        rows = collect(Searcher(tmp, encoder), queries)
    relevant = [r[3] for r in rows]
    print(f"{'setting':28} MRR@10   R@1    R@5")
    print(f"{'keyword':28} " + " ".join(f"{m:.3f}" for m in metrics([[a for a, _ in r[0]] for r in rows], relevant)))
    print(f"{'vector':28} " + " ".join(f"{m:.3f}" for m in metrics([[a for a, _ in r[1]] for r in rows], relevant)))
    for method, weights in (("rrf", (0.3, 0.4, 0.5, 0.6)), ("weighted", (0.2, 0.3, 0.4, 0.5, 0.6, 0.7))):
        for w in weights:
            for use_coverage in (True, False):
                ranked = [[f.id for f in fuse(kw, vec, cov if use_coverage else 1.0, method, keyword_weight=w)]
                          for kw, vec, cov, _ in rows]
                label = f"{method} w={w} cov={'y' if use_coverage else 'n'}"
                print(f"{label:28} " + " ".join(f"{m:.3f}" for m in metrics(ranked, relevant)))


if __name__ == "__main__":
    main(sys.argv[1:])
