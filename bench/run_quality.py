"""Regenerate the search-quality table of docs/benchmarks.md (`make bench`).

Converts SweFAQ dev and SweQUAD-MC (training+dev texts, dev questions) from
../shared/benchmarks, adds our own content with tests/eval/queries.jsonl, and
scores keyword, vector and hybrid on each in one run.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

from bench.cli import SHARED
from bench.convert import convert_swefaq, convert_swequad
from bench.quality import evaluate
from bench.report import machine
from kb.embedding.factory import encoder_from_settings
from kb.settings import PROJECT_ROOT, load_settings


def datasets(work: Path) -> list[tuple[str, Path, Path]]:
    """(name, content dir, queries file) for every benchmark."""
    swefaq = convert_swefaq(SHARED / "swefaq" / "swefaq_dev.jsonl", work / "swefaq")
    sq = SHARED / "swequad-mc"
    swequad = convert_swequad([sq / "training.json", sq / "dev.json"], sq / "dev.json", work / "swequad")
    own = (PROJECT_ROOT / "content", PROJECT_ROOT / "tests" / "eval" / "queries.jsonl")
    return [("SweFAQ dev", *swefaq), ("SweQUAD-MC dev (training+dev texts)", *swequad), ("tests/eval (our content)", *own)]


def main() -> None:
    """Run every benchmark and print a Markdown report."""
    settings = load_settings()
    encoder = encoder_from_settings(settings)
    results = {}
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        for name, content, queries in datasets(Path(tmp)):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results[name] = evaluate(content, queries, encoder)
    out = PROJECT_ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(results, indent=2))
    print(f"Measured {dt.date.today().isoformat()} on {machine()}; command: `make bench`.\n")
    print("| data | method | R@1 | R@5 | MRR@10 | p50 ms | p95 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, result in results.items():
        for method, m in result["methods"].items():
            print(f"| {name} | {method} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['mrr@10']:.3f} | "
                  f"{m['p50_ms']:.1f} | {m['p95_ms']:.1f} |")
    for name, result in results.items():
        if "superlim_accuracy" in result:
            print(f"\n{name}, SuperLim task (right answer among its category's answers): "
                  f"accuracy {result['superlim_accuracy']:.3f}")
        print(f"{name}: {result['index']['articles']} articles, {result['index']['chunks']} chunks, "
              f"indexed in {result['index']['seconds']} s")


if __name__ == "__main__":
    main()
