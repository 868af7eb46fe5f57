"""Measurements that need a process of their own: `python -m bench.worker build|serve ARGS-JSON`.

Each run prints one JSON object on its last line of stdout. Build and serve
run apart from the orchestrator (bench/speed.py) so that resident memory and
start-up time are those of a real serving process, not of the benchmark.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from bench.quality import percentile, read_queries

METHODS = ("keyword", "vector", "hybrid")


def rss_mb() -> dict:
    """Resident memory now and at its peak (VmRSS, VmHWM), and now split into private and file-backed, in MiB.

    File-backed resident pages are the memory-mapped index (vectors, sparse rows): shared by every
    gunicorn worker and the page cache, and given back under memory pressure; private ones are not.
    """
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:", "RssShmem:")):
            key, amount = line.split(":", 1)
            values[key] = round(int(amount.split()[0]) / 1024, 1)
    return {"rss_mb": values.get("VmRSS", 0.0), "peak_rss_mb": values.get("VmHWM", 0.0),
            "private_rss_mb": values.get("RssAnon", 0.0), "file_rss_mb": values.get("RssFile", 0.0)}


def folder_size_mb(path: Path) -> float:
    """Bytes of every file under `path`, in MiB."""
    return round(sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 2**20, 2)


def latency_summary(latencies_ms: list[float]) -> dict:
    """p50/p95/p99 and mean of a list of latencies in ms."""
    return {"p50_ms": round(statistics.median(latencies_ms), 2) if latencies_ms else 0.0,
            "p95_ms": round(percentile(latencies_ms, 95), 2), "p99_ms": round(percentile(latencies_ms, 99), 2),
            "mean_ms": round(statistics.fmean(latencies_ms), 2) if latencies_ms else 0.0}


def rank_scores(ranked_lists: list[list[str]], queries: list[dict]) -> dict:
    """Recall@1, Recall@5 and MRR@10 of ranked article ids against each query's relevant set."""
    r1 = r5 = mrr = 0.0
    for ranked, record in zip(ranked_lists, queries):
        relevant = set(record["relevant"])
        first = next((i for i, article_id in enumerate(ranked[:10], start=1) if article_id in relevant), None)
        r1 += first == 1
        r5 += first is not None and first <= 5
        mrr += 1 / first if first else 0.0
    n = max(1, len(queries))
    return {"recall@1": round(r1 / n, 4), "recall@5": round(r5 / n, 4), "mrr@10": round(mrr / n, 4)}


def _encoder(args: dict, threads: int = 1):
    from kb.embedding.factory import DEFAULT_MODEL, load_encoder

    return load_encoder(DEFAULT_MODEL, args["data_dir"], threads=threads, cache=args["model_cache"],
                        batch_threads=args.get("index_threads", 2),
                        query_precision=args.get("query_precision", "float32"))


def build(args: dict) -> dict:
    """Cold full build, then an incremental build after one article changed; model throughput beside."""
    from indexer import versions
    from indexer.build import build_index
    from indexer.chunking import chunk_article
    from kb.loader import load_content

    started = time.perf_counter()
    encoder = _encoder(args)
    model_load_s = time.perf_counter() - started
    batch = args.get("batch_size", 32)
    result: dict = {"model_load_s": round(model_load_s, 2), "batch_size": batch, "encoder": type(encoder).__name__}
    # The model's own throughput on a sample of this corpus's passages, at the build's batch size.
    corpus = load_content(args["content_dir"])
    passages = sorted((c.text for a in corpus.articles.values() for c in chunk_article(a) if not c.embed_as_query),
                      key=len)
    sample = passages[:: max(1, len(passages) // args.get("sample", 128))][: args.get("sample", 128)]
    model = getattr(encoder, "inner", encoder)   # the real model also under hashed corpus vectors
    model.encode_passages(sample[:4], batch_size=batch)  # warm the kernels
    t = time.perf_counter()
    model.encode_passages(sample, batch_size=batch)
    result["model_passages_per_s"] = round(len(sample) / (time.perf_counter() - t), 1)
    result["model_sample"] = len(sample)
    # Cold: an empty data folder, nothing reused.
    report = build_index(args["content_dir"], args["data_dir"], encoder, full=True, batch_size=batch)
    version = versions.current_version(args["data_dir"])
    result.update(build_s=round(report.seconds, 2), articles=report.articles, chunks=report.chunks,
                  embedded=report.embedded, errors=report.errors,
                  articles_per_s=round(report.articles / report.seconds, 1),
                  chunks_per_s=round(report.embedded / report.seconds, 1), index_mb=folder_size_mb(version),
                  vectors_mb=round((version / "vectors.faiss").stat().st_size / 2**20, 2))
    # Incremental: one article edited, the rest reused.
    changed = Path(args["changed_file"])
    with _edited(changed, "Uppdaterad: ny information om handläggningstider."):
        report = build_index(args["content_dir"], args["data_dir"], encoder, batch_size=batch)
    result.update(incremental_s=round(report.seconds, 2), incremental_embedded=report.embedded)
    result.update(rss_mb())
    with _edited(changed, "Uppdaterad: ändrade öppettider i december."):
        result["incremental_command_s"] = _incremental_command(args, batch)
        if args.get("hashed"):
            result["model_edit_s"] = _model_edit(args)
    result["incremental_watch_s"] = _incremental_watch(args, batch, changed)
    return result


@contextmanager
def _edited(path: Path, line: str):
    """The file with one line added, restored afterwards whatever happens."""
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + f"\n{line}\n", encoding="utf-8")
        yield
    finally:
        path.write_text(original, encoding="utf-8")


def _kb_index(args: dict, batch: int) -> tuple[list[str], dict]:
    """The `kb index` command line and environment for this corpus and data folder."""
    env = os.environ | {"KB_CONTENT_DIR": args["content_dir"], "KB_DATA_DIR": args["data_dir"],
                        "KB_MODEL_CACHE": args["model_cache"], "KB_ENCODE_BATCH_SIZE": str(batch),
                        "KB_INDEX_THREADS": str(args.get("index_threads", 2)), "HF_HUB_OFFLINE": "1"}
    if args.get("hashed"):
        return [sys.executable, "-m", "bench.hashed", "kb", "index"], env
    return [str(Path(sys.executable).with_name("kb")), "index"], env


def _incremental_command(args: dict, batch: int) -> float:
    """Wall time of `kb index` in a process of its own after one edit: start-up, model, build and exit."""
    command, env = _kb_index(args, batch)
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=3600)
    return round(time.perf_counter() - started, 2)


def _model_edit(args: dict) -> float:
    """Under hashed vectors: what the real model adds to a fresh `kb index` after one edit (median of 3).

    The hashed command never loads the model (tokenizer and ONNX sessions load at the first
    encode), so a fresh process loads it and embeds the edited article's chunks, timed from
    before that first encode to after it, as `kb index` would (indexer/build.py `_embed`).
    """
    from bench.speed import run_worker   # here: bench.speed imports this module (through bench.peers)

    times = [run_worker("model-edit", args, timeout=600)["seconds"] for _ in range(3)]
    return round(statistics.median(times), 2)


def model_edit(args: dict) -> dict:
    """One fresh process: the real encoder made as `kb index` makes it, then its first encode of one edited article."""
    from indexer.chunking import chunk_article
    from kb.loader import parse_article

    encoder = _encoder(args, threads=1)
    path = Path(args["changed_file"])
    article = parse_article(path, path.read_text(encoding="utf-8"), path.parent.name,
                            f"{path.parent.name}/{path.name}")[0]
    chunks = chunk_article(article)
    started = time.perf_counter()
    for kind in ("query", "passage"):
        texts = [c.text for c in chunks if c.embed_as_query == (kind == "query")]
        if texts:
            encoder.encode_with_sparse(texts, kind, args.get("batch_size", 32))
    return {"seconds": round(time.perf_counter() - started, 3), "chunks": len(chunks)}


def _incremental_watch(args: dict, batch: int, changed: Path) -> float:
    """Seconds from saving an edit to `kb index --watch` having switched to the version that has it (median of 3)."""
    command, env = _kb_index(args, batch)
    process = subprocess.Popen(command + ["--watch"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    try:
        while "watching" not in (line := process.stdout.readline()):
            if not line:
                raise RuntimeError("kb index --watch stopped before watching")
        times = []
        for attempt in range(3):
            with _edited(changed, f"Uppdaterad: nya uppgifter om avgifter ({attempt})."):
                started = time.perf_counter()
                line = process.stdout.readline()   # printed after the switch to the new version
                times.append(time.perf_counter() - started)
                if "served" not in line:
                    raise RuntimeError(f"kb index --watch: unexpected output {line!r}")
            process.stdout.readline()   # the build that restores the file
        return round(statistics.median(times), 2)
    finally:
        process.terminate()
        process.wait(timeout=60)


def serve(args: dict) -> dict:
    """Start like a server (model + index), answer every query per method, report latency, quality and memory."""
    from search.searcher import Searcher

    encoder = _encoder(args)
    searcher = Searcher(args["data_dir"], encoder)
    queries = read_queries(Path(args["queries_file"]))
    searcher.search(queries[0]["query"], audience="internal")
    result: dict = {"startup_s": round(time.time() - args["spawned_at"], 2),
                    "query_precision": getattr(getattr(encoder, "inner", encoder), "query_precision", "float32")}
    result.update({f"startup_{k}": v for k, v in rss_mb().items()})
    methods = {}
    for method in METHODS:
        encoder.clear_cache()  # each method pays for its own query embeddings
        latencies, ranked = [], []
        for record in queries:
            t = time.perf_counter()
            hits = searcher.search(record["query"], k=10, method=method, audience="internal").hits
            latencies.append((time.perf_counter() - t) * 1000)
            ranked.append([h.id for h in hits])
        methods[method] = latency_summary(latencies) | rank_scores(ranked, queries)
    result["methods"] = methods
    result.update(rss_mb())
    result["limits"] = _limits(searcher, encoder, queries)
    return result


def _limits(searcher, encoder, queries: list[dict]) -> dict:
    """The floor under the vector method: one query embedding, and a brute-force dot product over the same vectors."""
    import numpy as np

    encoder.clear_cache()
    times, vectors = [], []
    for record in queries:
        t = time.perf_counter()
        vectors.append(encoder.encode_queries([record["query"]])[0])
        times.append((time.perf_counter() - t) * 1000)
    # In memory and float32 (a flat16 index stores halves): the dot times arithmetic, not paging or conversion.
    matrix = np.concatenate([np.asarray(ann.vectors(), dtype=np.float32) for _, ann in searcher.snapshot.vector.parts])
    dot, ann = [], []
    for vector in vectors:
        t = time.perf_counter()
        scores = matrix @ vector
        top = np.argpartition(-scores, min(50, len(scores) - 1))[:50]
        top[np.argsort(-scores[top])]
        dot.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        searcher.snapshot.vector.search(vector, 50, include_internal=True)
        ann.append((time.perf_counter() - t) * 1000)
    return {"query_encode": latency_summary(times) | {"queries_per_s": round(1000 / statistics.fmean(times), 1)},
            "numpy_dot": latency_summary(dot), "our_vector_lookup": latency_summary(ann),
            "vectors": int(matrix.shape[0])}


def main() -> None:
    """Run one measurement named on the command line and print its JSON."""
    kind, args = sys.argv[1], json.loads(sys.argv[2])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.get("hashed") and kind != "model-edit":   # model-edit measures the real model
        from bench.hashed import install

        install()
    if kind in ("txtai-build", "txtai-serve", "keyword"):
        from bench import peers

        result = getattr(peers, kind.replace("-", "_"))(args)
    else:
        result = {"build": build, "serve": serve, "model-edit": model_edit}[kind](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
