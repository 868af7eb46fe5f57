"""Turn `kb bench speed` results into Markdown tables, a plot, and the section of docs/benchmarks.md."""
from __future__ import annotations

import os
import platform
from pathlib import Path

from bench.synthetic import SEED_KINDS

START, END = "<!-- bench-speed:start -->", "<!-- bench-speed:end -->"
# The targets of issue 5, checked against whatever sizes were run.
P95_TARGETS_MS = {10_000: 40.0, 100_000: 120.0}
INCREMENTAL_TARGET_S, STARTUP_TARGET_S, RSS_TARGET_MB, BUILD_SHARE_TARGET = 2.0, 5.0, 1536.0, 0.8


def machine(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """One line describing where the figures were measured."""
    cpu, flags = "unknown CPU", set()
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name") and cpu == "unknown CPU":
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    # Two machines both called "AMD EPYC" here ran the model at 18.5 and 10 passages/s: the widest
    # vector instructions tell them apart (AVX-512 or AVX2 only).
    if flags:
        cpu += " (AVX-512)" if "avx512f" in flags else " (AVX2)" if "avx2" in flags else " (no AVX2)"
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = ", load average %.1f at start" % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    return f"{os.cpu_count()} cores, {cpu}{memory}, Python {platform.python_version()}{load}"


def _label(s: dict) -> str:
    """The size as a table cell, marked where the corpus vectors were hashed (bench/hashed.py)."""
    return f"{s['articles']:,}" + (" †" if s.get("hashed_passages") else "")


def _rss(serve: dict) -> str:
    """RSS, split into private and file-backed (the mapped index) when the run measured both."""
    if "private_rss_mb" not in serve:
        return f"{serve['rss_mb']}"
    return f"{serve['rss_mb']} ({serve['private_rss_mb']} + {serve['file_rss_mb']})"


def _build_share(s: dict) -> float | None:
    """The cold build's chunks/s as a share of the model's own passages/s (None when it cannot be said)."""
    b = s["build"]
    if s.get("hashed_passages") or not b["model_passages_per_s"]:
        return None
    return b["chunks_per_s"] / b["model_passages_per_s"]


def _model_embed_s(s: dict, chunks: int) -> float:
    """What the model would add to a hashed build: `chunks` at the model's measured passages/s."""
    rate = s["build"]["model_passages_per_s"]
    return chunks / rate if rate else 0.0


HASHED_NOTE = ("† hashed corpus vectors (`--hashed-from`, bench/hashed.py): a cold model build of this size "
               "takes longer than a sitting here, so passages got vectors and sparse rows derived from a hash "
               "of their text, at the model's dimensions; queries went through the model as always. Latency, "
               "memory, start-up, index size and the non-model part of every build are real; the model's share "
               "is added from its measured passages/s where marked ≈, and for the `kb index` command as "
               "measured in a fresh process that loads the model and embeds the edited article (marked "
               "measured); vector and hybrid quality are not figures (–), keyword quality is.")


def _ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return "–"
    return f"{ours / theirs:.2f}"


def _tabled(results: dict) -> list[dict]:
    """The sizes with the figures every table needs (a cut run may leave one with its build only)."""
    return [s for s in results["sizes"] if "build" in s and "serve" in s]


def _unfinished(results: dict) -> list[str]:
    """One line per size whose run was cut: what it measured, and the build figures no table shows."""
    lines = []
    for s in (s for s in results["sizes"] if s.get("unfinished")):
        steps = [step for step in ("build", "serve", "http", "peers") if step in s]
        line = f"{_label(s)} articles: the run was cut after {', '.join(steps) or 'no step'}"
        if "build" in s and "serve" not in s:
            b = s["build"]
            line += (f"; cold build {b['build_s']} s, incremental (1 article) {b['incremental_s']} / "
                     f"{b.get('incremental_command_s', '–')} / {b.get('incremental_watch_s', '–')} s "
                     "(build / `kb index` / `kb index --watch`)")
        lines.append(line + ".")
    return lines


def tables(results: dict) -> str:
    """Every table of a speed run as Markdown."""
    sizes = _tabled(results)
    out = ["### Build, update, memory, start-up", "",
           "| articles | chunks | cold build s | articles/s | chunks/s | model passages/s (batch) | build/model "
           "| incremental (1 article) s: build / `kb index` / `kb index --watch` | index MiB | serving RSS MiB "
           "(private + mapped index) | start-up to first answer s |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in sizes:
        b, v = s["build"], s["serve"]
        share = "–" if _build_share(s) is None else f"{_build_share(s):.0%}"
        cold = b["build_s"]
        if s.get("hashed_passages"):   # the non-model part measured, the model's part from its own rate
            cold = f"{cold} (≈ {cold + _model_embed_s(s, b['embedded']):,.0f} with the model)"
        out.append(f"| {_label(s)} | {b['chunks']:,} | {cold} | {b['articles_per_s']} | "
                   f"{b['chunks_per_s']} | {b['model_passages_per_s']} ({b['batch_size']}) | {share} | "
                   f"{b['incremental_s']} / {b.get('incremental_command_s', '–')} / "
                   f"{b.get('incremental_watch_s', '–')} | {b['index_mb']} | "
                   f"{_rss(v)} | {v['startup_s']} |")
    out += ["", "### Warm query latency, one client, in-process (and quality on the same queries)", "",
            "| articles | method | p50 ms | p95 ms | p99 ms | R@1 | R@5 | MRR@10 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in sizes:
        for method, m in s["serve"]["methods"].items():
            quality = " | ".join(f"{m[k]:.3f}" for k in ("recall@1", "recall@5", "mrr@10"))
            if s.get("hashed_passages") and method != "keyword":
                quality = "– | – | –"
            out.append(f"| {_label(s)} | {method} | {m['p50_ms']} | {m['p95_ms']} | {m['p99_ms']} | {quality} |")
    out += ["", "### Physical limits beside them", "",
            "| articles | vectors | one query embedding p50 / p95 ms (queries/s) | numpy brute-force dot p50 / p95 ms "
            "| our vector lookup p50 / p95 ms | our vector method p50 ms |", "| --- | --- | --- | --- | --- | --- |"]
    for s in sizes:
        lim, vec = s["serve"]["limits"], s["serve"]["methods"]["vector"]
        q, d, a = lim["query_encode"], lim["numpy_dot"], lim["our_vector_lookup"]
        out.append(f"| {_label(s)} | {lim['vectors']:,} | {q['p50_ms']} / {q['p95_ms']} ({q['queries_per_s']}) "
                   f"| {d['p50_ms']} / {d['p95_ms']} | {a['p50_ms']} / {a['p95_ms']} | {vec['p50_ms']} |")
    if any("http" in s for s in sizes):
        out += ["", "### HTTP under concurrency (gunicorn.conf.py, `GET /api/v1/search`, loopback)", "",
                "| articles | clients | requests | requests/s | p50 ms | p95 ms | p99 ms | errors |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for s in sizes:
            for level in s.get("http", {}).get("levels", []):
                out.append(f"| {_label(s)} | {level['concurrency']} | {level['requests']} | "
                           f"{level['requests_per_s']} | {level['p50_ms']} | {level['p95_ms']} | {level['p99_ms']} | "
                           f"{level['errors']} |")
        notes = [f"{s['articles']:,} articles: {s['http']['note']}" for s in sizes if s.get("http", {}).get("note")]
        out += [""] + [f"Note: {note}" for note in notes] if notes else []
    out += _peer_tables(sizes)
    out += _targets(sizes)
    if any(s.get("hashed_passages") for s in sizes):
        out += ["", HASHED_NOTE]
    return "\n".join(out) + "\n"


def _peer_tables(sizes: list[dict]) -> list[str]:
    out: list[str] = []
    with_txtai = [s for s in sizes if s.get("peers", {}).get("txtai")]
    if with_txtai:
        out += ["", "### Against txtai (hybrid: its BM25 + the same e5 model, same pieces, same queries)", "",
                "| articles | MRR@10 ours / txtai | R@5 ours / txtai | p95 ms ours / txtai | build s ours / txtai "
                "| serving RSS MiB ours / txtai | ratios ours÷txtai: MRR, R@5, p95, build |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for s in with_txtai:
            ours, t = s["serve"]["methods"]["hybrid"], s["peers"]["txtai"]
            th = t["serve"]["hybrid"]
            out.append(f"| {s['articles']:,} | {ours['mrr@10']:.3f} / {th['mrr@10']:.3f} | "
                       f"{ours['recall@5']:.3f} / {th['recall@5']:.3f} | {ours['p95_ms']} / {th['p95_ms']} | "
                       f"{s['build']['build_s']} / {t['build']['build_s']} | {s['serve']['rss_mb']} / "
                       f"{t['serve']['rss_mb']} | {_ratio(ours['mrr@10'], th['mrr@10'])}, "
                       f"{_ratio(ours['recall@5'], th['recall@5'])}, {_ratio(ours['p95_ms'], th['p95_ms'])}, "
                       f"{_ratio(s['build']['build_s'], t['build']['build_s'])} |")
    with_kw = [s for s in sizes if s.get("peers", {}).get("keyword")]
    if with_kw:
        out += ["", "### Keyword side: ours (Swedish analysis, compound splitting; `whoosh` = Whoosh's query engine, "
                "`matrix` = the same BM25F with numpy, the default) vs tantivy (Swedish stemming)",
                "", "| articles | engine | build s | p50 ms | p95 ms | R@5 | MRR@10 |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for s in with_kw:
            dated = s["peers"].get("keyword_date")   # kept from an earlier run of this size (bench/speed.py)
            label = f"{s['articles']:,}" + (f" (run of {dated})" if dated else "")
            for engine, m in s["peers"]["keyword"].items():
                out.append(f"| {label} | {engine} | {m['build_s']} | {m['p50_ms']} | {m['p95_ms']} | "
                           f"{m['recall@5']:.3f} | {m['mrr@10']:.3f} |")
    return out


def _targets(sizes: list[dict]) -> list[str]:
    out = ["", "### Against the targets of issue 5", "", "| articles | target | measured | met |",
           "| --- | --- | --- | --- |"]

    def row(size: str, what: str, measured: str, met: bool | None) -> None:
        out.append(f"| {size} | {what} | {measured} | {'–' if met is None else 'yes' if met else '**no**'} |")

    for s in sizes:
        n, b, v = s["articles"], s["build"], s["serve"]
        hashed = s.get("hashed_passages")
        # Under hashed vectors an update lacks the model's embedding of the edited article's chunks: added.
        extra = _model_embed_s(s, b.get("incremental_embedded", 0)) if hashed else 0.0

        def update(seconds: float, fresh_process: bool = False) -> tuple[str, bool]:
            if not hashed:
                return f"{seconds} s", seconds <= INCREMENTAL_TARGET_S
            if fresh_process and "model_edit_s" in b:   # measured: a fresh process loads the model first
                model = b["model_edit_s"]
                return f"{seconds} s + {model} s model (measured)", seconds + model <= INCREMENTAL_TARGET_S
            return f"{seconds} s + ≈{extra:.2f} s model", seconds + extra <= INCREMENTAL_TARGET_S
        label = _label(s)
        p95 = v["methods"]["hybrid"]["p95_ms"]
        if n in P95_TARGETS_MS:
            row(label, f"hybrid p95 ≤ {P95_TARGETS_MS[n]:.0f} ms", f"{p95} ms", p95 <= P95_TARGETS_MS[n])
        row(label, f"incremental update ≤ {INCREMENTAL_TARGET_S} s (the build)", *update(b["incremental_s"]))
        if "incremental_command_s" in b:
            row(label, f"incremental update ≤ {INCREMENTAL_TARGET_S} s (`kb index` command, model load included)",
                *update(b["incremental_command_s"], fresh_process=True))
        if "incremental_watch_s" in b:
            row(label, f"incremental update ≤ {INCREMENTAL_TARGET_S} s (`kb index --watch`: save to new version "
                "served)", *update(b["incremental_watch_s"]))
        row(label, f"start-up ≤ {STARTUP_TARGET_S} s", f"{v['startup_s']} s", v["startup_s"] <= STARTUP_TARGET_S)
        if n >= 100_000:
            row(label, "serving RSS ≤ 1.5 GB", f"{v['rss_mb']} MiB", v["rss_mb"] <= RSS_TARGET_MB)
            if "private_rss_mb" in v:
                row(label, "serving RSS ≤ 1.5 GB, private memory only (the mapped index pages are shared and "
                    "reclaimable)", f"{v['private_rss_mb']} MiB", v["private_rss_mb"] <= RSS_TARGET_MB)
        if hashed:
            hours = (b["build_s"] + _model_embed_s(s, b["embedded"])) / 3600
            row(label, f"build ≥ {BUILD_SHARE_TARGET:.0%} of model throughput",
                f"not run with the model (≈ {hours:.1f} h); the non-model part took {b['build_s']} s", None)
        else:
            share = _build_share(s) or 0.0
            row(label, f"build ≥ {BUILD_SHARE_TARGET:.0%} of model throughput", f"{share:.0%}",
                share >= BUILD_SHARE_TARGET)
        txtai = s.get("peers", {}).get("txtai")
        if txtai:
            th = txtai["serve"]["hybrid"]
            ours = v["methods"]["hybrid"]
            row(label, "ahead of txtai on MRR@10 and p95",
                f"MRR {ours['mrr@10']:.3f} vs {th['mrr@10']:.3f}, p95 {ours['p95_ms']} vs {th['p95_ms']} ms",
                ours["mrr@10"] > th["mrr@10"] and ours["p95_ms"] < th["p95_ms"])
    return out


def plot(results: dict, path: Path) -> Path | None:
    """p95 hybrid latency and serving memory against corpus size, us and txtai; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    sizes = _tabled(results)
    x = [s["articles"] for s in sizes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(x, [s["serve"]["methods"]["hybrid"]["p95_ms"] for s in sizes], "o-", label="Kunskapsbanken (hybrid)")
    right.plot(x, [s["serve"]["rss_mb"] for s in sizes], "o-", label="Kunskapsbanken")
    peer = [s for s in sizes if s.get("peers", {}).get("txtai")]
    if peer:
        px = [s["articles"] for s in peer]
        left.plot(px, [s["peers"]["txtai"]["serve"]["hybrid"]["p95_ms"] for s in peer], "s--", label="txtai (hybrid)")
        right.plot(px, [s["peers"]["txtai"]["serve"]["rss_mb"] for s in peer], "s--", label="txtai")
    hashed = [s for s in sizes if s.get("hashed_passages")]
    if hashed:   # real latency and memory, but not of vectors the model made: drawn hollow
        hx = [s["articles"] for s in hashed]
        left.plot(hx, [s["serve"]["methods"]["hybrid"]["p95_ms"] for s in hashed], "o", mfc="white",
                  color="tab:blue", label="† hashed corpus vectors")
        right.plot(hx, [s["serve"]["rss_mb"] for s in hashed], "o", mfc="white", color="tab:blue",
                   label="† hashed corpus vectors")
    private = [s for s in sizes if "private_rss_mb" in s["serve"]]
    if private:   # what is not the mapped index (shared by workers and the page cache, reclaimable)
        right.plot([s["articles"] for s in private], [s["serve"]["private_rss_mb"] for s in private], "v",
                   color="tab:green", label="private memory (mapped index left out)")
    left.plot(list(P95_TARGETS_MS), list(P95_TARGETS_MS.values()), "x", color="tab:red", ms=9, label="target")
    right.axhline(RSS_TARGET_MB, color="tab:red", ls=":", label="target at 100 000")
    for axis, title, unit in ((left, "Warm query latency, p95 (one client)", "ms"),
                              (right, "Serving process memory (RSS)", "MiB")):
        axis.set_xscale("log")
        axis.set_ylim(bottom=0)   # from zero: close values must look close, not zoomed apart
        axis.set_xlabel("articles")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
        axis.legend()
    fig.suptitle(f"kb bench speed, {results['date']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _precision(size: dict) -> str:
    """How a size's serving process embedded queries (KB_QUERY_PRECISION; runs before 2026-12-03: float32)."""
    return size.get("serve", {}).get("query_precision") or size.get("query_precision", "float32")


def _precisions(results: dict) -> str:
    """How the sizes' queries were embedded, for the section's first line."""
    found = sorted({_precision(s) for s in results["sizes"]})
    return "float32 and int8 by size, see the line below" if len(found) > 1 else found[0]


def section(results: dict, command: str, plot_name: str | None) -> str:
    """The whole docs section: conditions, tables, plot."""
    opts = results.get("options", {})
    head = [START, "## Speed at scale (`kb bench speed`)", "",
            f"Last run {results['date']} on {results['machine']} ({results['seconds']} s; where sizes were "
            f"measured at different times, the line below says when and where). Command for every size: "
            f"`{command}`. Synthetic corpora from bench/synthetic.py (real Swedish text of "
            f"content/, SweFAQ and SweQUAD-MC placed in 70 Stockholm neighbourhoods, 100+ offices); "
            f"{opts.get('query_count', 500)} queries with a known target per size; latency in a separate serving "
            f"process that loaded model and index like the web app, encoder "
            f"{', '.join(sorted({s['build'].get('encoder', 'TorchBertEncoder') for s in results['sizes']}))}, "
            f"1 model thread for queries ({_precisions(results)}), "
            f"{opts.get('index_threads', 2)} for the build, query-embedding cache cleared between methods; "
            f"HTTP against gunicorn.conf.py with a Python keep-alive client, a fresh query per request. "
            "Figures from a shared machine are noisy: compare within a run.", "",
            "Everything: `make bench` (installs requirements-bench.txt, then quality and "
            "`kb bench speed --articles 1000,10000,100000`; 100 000 with hashed corpus vectors, see †). A run too "
            "long for one sitting can be split: "
            "`kb bench speed --articles 100000 --peers-max-articles 10000` keeps the other sizes' figures "
            "from bench/results/speed.json; `python -m bench.report` redraws this section and the plot from it.", ""]
    dates = {s.get("date", results["date"]) for s in results["sizes"]}
    if len(dates) > 1:  # a long run split over several sessions (`--keep`)
        head += ["Sizes measured at different times: " + "; ".join(
            f"{s['articles']:,} on {s.get('date', results['date'])} ({s.get('machine', results['machine'])}, "
            f"{_precision(s)} queries)" for s in results["sizes"]) + ".", ""]
    seeded = [s for s in results["sizes"] if "seeds" in s]
    if seeded:   # what each corpus was derived from: runs compare only with the same seeds
        head += ["Corpus seeds: " + "; ".join(
            f"{s['articles']:,}: " + ", ".join(f"{n:,} {SEED_KINDS[k]}" for k, n in s["seeds"].items())
            for s in seeded) + ".", ""]
    coded = [s for s in results["sizes"] if s.get("code")]
    if coded:   # which code each size measured (commit, +changes-<hash> for uncommitted edits)
        head += ["Code measured: " + "; ".join(
            f"{s['articles']:,}: {s['code']}" + (f" (**changed to {s['code_changed']} during the run: its figures "
                                                  "mix two versions**)" if s.get("code_changed") else "")
            for s in coded) + ".", ""]
    cut = _unfinished(results)
    if cut:
        head += ["Unfinished: " + " ".join(cut), ""]
    body = [tables(results)]
    if plot_name:
        body.append(f"\n![p95 latency and memory against corpus size]({plot_name})\n")
    return "\n".join(head + body) + END + "\n"


def write_docs(doc: Path, text: str) -> None:
    """Replace the speed section of docs/benchmarks.md (or append it the first time); nothing else changes."""
    current = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        updated = before + text + after
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    doc.write_text(updated, encoding="utf-8")


def main() -> None:
    """Redraw the docs section and the plot from bench/results/speed.json, without measuring again."""
    import json

    from kb.settings import PROJECT_ROOT

    results = json.loads((PROJECT_ROOT / "bench" / "results" / "speed.json").read_text())
    docs = PROJECT_ROOT / "docs"
    plotted = plot(results, docs / "benchmark-speed.png")
    command = "kb bench speed --articles " + ",".join(str(s["articles"]) for s in results["sizes"])
    write_docs(docs / "benchmarks.md", section(results, command, plotted and plotted.name))
    print(tables(results))


if __name__ == "__main__":
    main()
