"""`kb bench speed`: build, update, memory, start-up, latency, HTTP and peers, per corpus size.

The orchestrator stays light: every measurement that loads the model runs in
its own process (bench/worker.py), so memory and start-up are a real serving
process's. Sizes run one after the other on a synthetic corpus
(bench/synthetic.py), cached between runs in the work folder; index folders
are temporary and removed after each size.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from bench import peers
from bench.http_load import http_benchmark
from bench.quality import read_queries
from bench.synthetic import SEED_KINDS, write_corpus
from kb.settings import BY_NAME, PROJECT_ROOT


class WorkerFailed(RuntimeError):
    """A measurement process exited with an error."""


def run_worker(kind: str, args: dict, timeout: float = 6 * 3600) -> dict:
    """Run `python -m bench.worker KIND ARGS` and return the JSON it prints last."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    args = dict(args)
    if kind.endswith("serve"):
        args["spawned_at"] = time.time()
    done = subprocess.run([sys.executable, "-m", "bench.worker", kind, json.dumps(args)], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise WorkerFailed(f"bench.worker {kind} failed ({done.returncode}): {done.stderr[-3000:]}")
    return json.loads(lines[-1])


def _log(message: str) -> None:
    print(f"[bench speed {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def code_state(root: Path = PROJECT_ROOT) -> str:
    """The code being measured: its commit, plus a hash of uncommitted changes to tracked Python files."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
        diff = subprocess.run(["git", "-C", str(root), "diff", "HEAD", "--", "*.py"], capture_output=True,
                              timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ""   # not a git checkout: nothing to say
    return head + (f"+changes-{hashlib.sha256(diff).hexdigest()[:8]}" if diff else "")


def measure_size(articles: int, work_dir: Path, model_path: Path, *, query_count: int = 500,
                 http: bool = True, http_requests: int = 300, http_levels: tuple[int, ...] = (1, 8, 32),
                 with_peers: bool = True, index_threads: int = 2, batch_size: int = 32,
                 model_sample: int = 128, hashed: bool = False,
                 query_precision: str = BY_NAME["query_precision"].default,
                 on_step: Callable[[dict], None] | None = None) -> dict:
    """Every figure for one corpus size; `hashed`: corpus vectors from bench/hashed.py, not the model.

    `query_precision`: how queries are embedded (KB_QUERY_PRECISION), in the serving process and gunicorn.

    `on_step` gets the figures so far after each step (a 100 000 run takes an hour: a cut one keeps them).
    """
    step = on_step or (lambda _partial: None)
    corpus_dir = work_dir / f"corpus-{articles}"
    extra = http_requests * len(http_levels) if http else 0
    content, all_queries_file = write_corpus(corpus_dir, articles, query_count + extra)
    all_queries = read_queries(all_queries_file)
    queries_file = corpus_dir / f"queries-{query_count}.jsonl"
    queries_file.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in all_queries[:query_count]),
                            encoding="utf-8")
    result: dict = {"articles": articles, "queries": min(query_count, len(all_queries)),
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "seeds": json.loads((corpus_dir / "corpus.json").read_text())["seeds"], "hashed_passages": hashed,
                    "query_precision": query_precision, "code": code_state()}
    if not result["seeds"]["faq"]:
        _log(f"WARNING: no SweFAQ/SweQUAD seeds (set KB_SHARED_BENCHMARKS): a corpus of {SEED_KINDS['own']} only, "
             "not comparable with runs that had them")
    changed = sorted(content.glob("*/*.md"))[0]
    common = {"content_dir": str(content), "model_cache": str(model_path.parent), "index_threads": index_threads,
              "batch_size": batch_size, "sample": model_sample, "hashed": hashed, "query_precision": query_precision}
    with tempfile.TemporaryDirectory(prefix=f"kb-speed-{articles}-", dir=work_dir) as tmp:
        data_dir = Path(tmp) / "data"
        _log(f"{articles} articles: cold build")
        result["build"] = run_worker("build", common | {"data_dir": str(data_dir), "changed_file": str(changed)})
        step(result)
        _log(f"{articles} articles: serving process ({result['queries']} queries x 3 methods)")
        result["serve"] = run_worker("serve", common | {"data_dir": str(data_dir), "queries_file": str(queries_file)})
        step(result)
        if http:
            _log(f"{articles} articles: HTTP at {', '.join(map(str, http_levels))} clients")
            result["http"] = http_benchmark(data_dir, content, str(model_path.parent),
                                            [q["query"] for q in all_queries[query_count:]],
                                            http_levels, http_requests, hashed=hashed,
                                            query_precision=query_precision)
            step(result)
        if with_peers:
            installed = peers.available()
            result["peers"] = {"installed": installed}
            _log(f"{articles} articles: keyword side vs tantivy")
            result["peers"]["keyword"] = run_worker("keyword", {"content_dir": str(content),
                                                                "queries_file": str(queries_file)})
            step(result)
            if installed["txtai"] and not hashed:   # txtai would embed the whole corpus with the model
                _log(f"{articles} articles: txtai build and serve")
                txtai_dir = str(Path(tmp) / "txtai")
                args = {"content_dir": str(content), "model_path": str(model_path), "index_dir": txtai_dir,
                        "index_threads": index_threads, "queries_file": str(queries_file)}
                result["peers"]["txtai"] = {"build": run_worker("txtai-build", args),
                                            "serve": run_worker("txtai-serve", args)}
    # Every step starts processes of its own, which import the code as it is then: an edit during a
    # run (seen on 2026-12-03) makes its figures a mix of two versions, and the report says so.
    finished = code_state()
    if finished != result["code"]:
        result["code_changed"] = finished
        _log(f"WARNING: the code changed during the {articles}-article run ({result['code']} -> {finished})")
    return result


def run_speed(sizes: list[int], work_dir: Path, model_path: Path, *, peers_max_articles: int = 10**9,
              hashed_from: int = 0, previous: dict | None = None,
              checkpoint: Callable[[dict], None] | None = None, **options) -> dict:
    """Measure every size in turn; sizes of `previous` results not run now are kept (a long run may be split).

    Sizes of at least `hashed_from` articles (0: none) get hashed corpus vectors (bench/hashed.py).
    `checkpoint` gets the whole results after every step, the size being measured marked "unfinished".
    """
    from bench.report import machine

    work_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
               "options": dict(options, peers_max_articles=peers_max_articles, hashed_from=hashed_from), "sizes": []}

    def save_step(partial: dict) -> None:
        if checkpoint:
            cut = partial | {"machine": results["machine"], "unfinished": True}
            so_far = results | {"sizes": results["sizes"] + [cut],
                                "seconds": round(time.perf_counter() - started, 1)}
            checkpoint(merge_results(previous, so_far))

    for size in sizes:
        with_peers = options.get("with_peers", True) and size <= peers_max_articles
        hashed = bool(hashed_from) and size >= hashed_from
        measured = measure_size(size, work_dir, model_path, on_step=save_step,
                                **(options | {"with_peers": with_peers, "hashed": hashed}))
        measured["machine"] = results["machine"]
        results["sizes"].append(measured)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return merge_results(previous, results)


def merge_results(previous: dict | None, fresh: dict) -> dict:
    """`fresh`, plus the sizes of `previous` it did not measure again, ordered by size.

    A size measured again without the keyword peers (`--peers-max-articles`) keeps its last keyword
    comparison, dated: its engines ran together in one step on the same corpus, so it stands on its
    own (at 100 000 it takes longer than the rest of the size). txtai's is never kept: its table
    sets it against this run's own figures.
    """
    before = {s["articles"]: s for s in (previous or {}).get("sizes", [])}
    sizes = []
    for size in fresh["sizes"]:
        old = before.get(size["articles"], {})
        keyword = old.get("peers", {}).get("keyword")
        if keyword and not size.get("peers", {}).get("keyword"):
            dated = old["peers"].get("keyword_date") or old.get("date", "")
            size = size | {"peers": dict(size.get("peers", {}), keyword=keyword, keyword_date=dated)}
        sizes.append(size)
    measured = {s["articles"] for s in sizes}
    kept = [s for s in before.values() if s["articles"] not in measured]
    return fresh | {"sizes": sorted(kept + sizes, key=lambda s: s["articles"])}


def clear_cache(work_dir: Path) -> None:
    """Remove the cached synthetic corpora."""
    for path in work_dir.glob("corpus-*"):
        shutil.rmtree(path, ignore_errors=True)
