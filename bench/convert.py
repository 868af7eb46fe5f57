"""Turn the shared Swedish Q&A datasets into a content folder and a queries file.

SweFAQ: one unique (category, answer) pair is one article, filed under an
office per category and titled with the category (the FAQ page it sits on).
SweQUAD-MC: one unique context is one article, titled with its first line (a
heading on the source page), which is then not repeated in the body. Titles
never come from the questions, which are what gets asked.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml


def _title_and_body(text: str) -> tuple[str, str]:
    """A heading-like first line becomes the title; otherwise the first words, and the body stays whole."""
    lines = text.strip().splitlines()
    first = lines[0].strip()
    if 3 <= len(first) <= 100 and not first.endswith(".") and len(lines) > 1:
        return first, "\n".join(lines[1:]).strip()
    words = text.split()
    return " ".join(words[:8]) + (" …" if len(words) > 8 else ""), text


def _write_article(folder: Path, article_id: str, office: str, title: str, body: str) -> None:
    meta = {"id": article_id, "title": title, "office": office}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    (folder / f"{article_id}.md").write_text(f"---\n{front}---\n{body.strip()}\n", encoding="utf-8")


def _office(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_office.yaml").write_text(yaml.safe_dump({"name": name}, allow_unicode=True), encoding="utf-8")


def convert_swefaq(source: Path, out_dir: Path) -> tuple[Path, Path]:
    """SweFAQ jsonl -> (content dir, queries.jsonl). Queries also carry `category` and `candidates` for the SuperLim task."""
    content = out_dir / "content"
    ids: dict[tuple[int, str], str] = {}
    queries = []
    for line in source.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        category = record["category_id"]
        office = f"kategori-{category}"
        if not (content / office).exists():
            _office(content / office, record["meta"].get("category") or office)
        candidate_ids = []
        for answer in record["candidate_answers"]:
            key = (category, answer.strip())
            if key not in ids:
                ids[key] = f"faq-{category}-{hashlib.sha1(answer.strip().encode()).hexdigest()[:10]}"
                title = record["meta"].get("category") or office
                _write_article(content / office, ids[key], office, title.split(" :: ")[-1], answer)
            candidate_ids.append(ids[key])
        right = candidate_ids[record["label"]]
        queries.append({"query": record["question"], "relevant": [right], "office": office,
                        "candidates": candidate_ids})
    queries_file = out_dir / "queries.jsonl"
    queries_file.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
    return content, queries_file


def convert_swequad(sources: list[Path], question_source: Path, out_dir: Path) -> tuple[Path, Path]:
    """SweQUAD-MC json files -> (content dir with every context, queries.jsonl of `question_source`'s questions)."""
    content = out_dir / "content"
    _office(content / "texter", "Myndighetstexter")
    ids: dict[str, str] = {}
    for source in sources:
        for record in json.loads(source.read_text(encoding="utf-8"))["data"]:
            context = record["context"].replace("\r\n", "\n").strip()
            if context not in ids:
                ids[context] = f"text-{hashlib.sha1(context.encode()).hexdigest()[:10]}"
                title, body = _title_and_body(context)
                _write_article(content / "texter", ids[context], "texter", title, body)
    queries = []
    for record in json.loads(question_source.read_text(encoding="utf-8"))["data"]:
        context = record["context"].replace("\r\n", "\n").strip()
        queries.append({"query": record["question"], "relevant": [ids[context]]})
    queries_file = out_dir / "queries.jsonl"
    queries_file.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
    return content, queries_file
