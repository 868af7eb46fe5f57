"""A synthetic knowledge bank of any size, for the speed benchmark (`kb bench speed`).

Built from real Swedish text: our own articles (content/), SweFAQ answers and
SweQUAD-MC texts (../shared/benchmarks). Each synthetic article is one seed
text placed in one Stockholm neighbourhood and filed under that district's
office (area × district: 100+ offices), with the place woven into title and
answer, a few of the seed's questions, and a "Bra att veta" section recombined
from sentences of other seeds of the same area. Every size is a prefix of one
deterministic stream, so 1 000 articles are the first 1 000 of 100 000.

Queries are real questions written for the seed (tests/eval, SweFAQ, SweQUAD-MC)
with the place added ("... i Skarpnäck?"); the relevant articles are those of
the same seed in the same place (one, or a few near-duplicates at 100 000).
The files are written in our Markdown format, so the real loader and indexer
are what gets measured. Output is cached per (size, seed, generator version).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.loader import load_content
from kb.settings import PROJECT_ROOT

GENERATOR_VERSION = 1
# The shared Swedish benchmark texts; KB_SHARED_BENCHMARKS points elsewhere (e.g. from a git worktree,
# whose parent folder has no shared/).
SHARED = Path(os.environ.get("KB_SHARED_BENCHMARKS") or PROJECT_ROOT.parent / "shared" / "benchmarks")
SEED_KINDS = {"own": "own articles", "faq": "SweFAQ answers", "text": "SweQUAD-MC texts"}
OWN_QUERIES = PROJECT_ROOT / "tests" / "eval" / "queries.jsonl"

# Stockholm's districts (stadsdelsområden) and neighbourhoods in them.
DISTRICTS: dict[str, list[str]] = {
    "Rinkeby-Kista": ["Rinkeby", "Kista", "Husby", "Akalla", "Tensta"],
    "Spånga-Tensta": ["Spånga", "Bromsten", "Flysta", "Solhem", "Sundby"],
    "Hässelby-Vällingby": ["Hässelby", "Vällingby", "Grimsta", "Råcksta", "Kälvesta"],
    "Bromma": ["Bromma", "Abrahamsberg", "Alvik", "Ulvsunda", "Olovslund"],
    "Kungsholmen": ["Kungsholmen", "Fredhäll", "Kristineberg", "Stadshagen", "Marieberg"],
    "Norrmalm": ["Vasastan", "Norrmalm", "Sibirien", "Hagastaden", "Skeppsholmen"],
    "Östermalm": ["Östermalm", "Gärdet", "Lärkstaden", "Djurgården", "Hjorthagen"],
    "Södermalm": ["Södermalm", "Hornstull", "Skanstull", "Gamla stan", "Reimersholme"],
    "Enskede-Årsta-Vantör": ["Enskede", "Årsta", "Hammarbyhöjden", "Rågsved", "Högdalen"],
    "Skarpnäck": ["Skarpnäck", "Bagarmossen", "Björkhagen", "Kärrtorp", "Hammarby sjöstad"],
    "Farsta": ["Farsta", "Hökarängen", "Gubbängen", "Tallkrogen", "Sköndal"],
    "Älvsjö": ["Älvsjö", "Solberga", "Herrängen", "Långbro", "Örby"],
    "Hägersten-Älvsjö": ["Hägersten", "Liljeholmen", "Midsommarkransen", "Aspudden", "Fruängen"],
    "Skärholmen": ["Skärholmen", "Sätra", "Bredäng", "Vårberg", "Vårby gård"],
}
PLACES = [(district, place) for district, places in DISTRICTS.items() for place in places]
# Areas of the SweFAQ categories and the SweQUAD-MC texts (our own articles keep their office as area).
FAQ_AREA, TEXT_AREA = "vard-och-omsorg", "myndighet"
AREA_NAMES = {FAQ_AREA: "Vård och omsorg", TEXT_AREA: "Myndighetsinformation"}


def slug(text: str) -> str:
    """An id-safe form of a Swedish name ("Hässelby-Vällingby" -> "hasselby-vallingby")."""
    table = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", " ": "-"})
    return re.sub(r"[^a-z0-9-]", "", text.lower().translate(table)).strip("-")


@dataclass
class Seed:
    """One real text a synthetic article is made from, with the questions written for it."""

    key: str
    area: str
    area_name: str
    title: str
    body: str                      # public Markdown
    internal: list[str] = field(default_factory=list)
    alt_questions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    audience: str = "public"
    queries: list[str] = field(default_factory=list)
    weight: int = 1                # times per pass of the stream


@dataclass
class SyntheticArticle:
    """One article of the stream: a seed in a place."""

    id: str
    seed: Seed
    district: str
    place: str
    occurrence: int


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text)) if len(s.split()) >= 5]


def load_seeds(shared: Path = SHARED, content_dir: Path = PROJECT_ROOT / "content") -> list[Seed]:
    """Every real text with its questions: our Swedish articles, SweFAQ answers, SweQUAD-MC texts."""
    seeds: list[Seed] = []
    corpus = load_content(content_dir)
    own_queries: dict[str, list[str]] = {}
    for line in OWN_QUERIES.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            for article_id in record["relevant"][:1]:
                own_queries.setdefault(article_id, []).append(record["query"])
    for article in sorted(corpus.articles.values(), key=lambda a: a.id):
        if article.language != "sv":
            continue  # translations need their original beside them; the Swedish seeds suffice
        office = corpus.offices.get(article.office)
        seeds.append(Seed(f"own-{article.id}", article.office, office.name if office else article.office,
                          article.title, article.public_body, list(article.internal_notes),
                          list(article.alt_questions), list(article.tags), article.audience,
                          own_queries.get(article.id, []), weight=2))
    if not (shared / "swefaq").is_dir():
        # A checkout without ../shared (e.g. a CI clone elsewhere): our own articles are the seeds.
        # Another corpus, so write_corpus records the seed counts and the speed report prints them.
        return seeds
    faq: dict[tuple, Seed] = {}
    for line in (shared / "swefaq" / "swefaq_dev.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        category = record["meta"].get("category", "").split(" :: ")[-1] or "Frågor och svar"
        for index, answer in enumerate(record["candidate_answers"]):
            key = (record["category_id"], answer.strip())
            if key not in faq:
                digest = hashlib.sha1(answer.strip().encode()).hexdigest()[:8]
                faq[key] = Seed(f"faq-{digest}", FAQ_AREA, AREA_NAMES[FAQ_AREA], category, answer.strip(),
                                tags=[w for w in category.lower().split() if len(w) > 4][:4], weight=2)
            if index == record["label"]:
                faq[key].queries.append(record["question"])
    seeds += faq.values()
    texts: dict[str, Seed] = {}
    for name in ("training.json", "dev.json"):
        for record in json.loads((shared / "swequad-mc" / name).read_text(encoding="utf-8"))["data"]:
            context = record["context"].replace("\r\n", "\n").strip()
            if context not in texts:
                lines = context.splitlines()
                first = lines[0].strip()
                heading = 3 <= len(first) <= 100 and not first.endswith(".") and len(lines) > 1
                title = first if heading else " ".join(context.split()[:8])
                body = "\n".join(lines[1:]).strip() if heading else context
                digest = hashlib.sha1(context.encode()).hexdigest()[:8]
                texts[context] = Seed(f"text-{digest}", TEXT_AREA, AREA_NAMES[TEXT_AREA], title,
                                      re.sub(r"\n+", "\n\n", body))
            texts[context].queries.append(record["question"])
    seeds += texts.values()
    return seeds


def seed_counts(seeds: list[Seed]) -> dict[str, int]:
    """How many seeds of each source (own, faq, text): what a corpus was derived from."""
    counts = dict.fromkeys(SEED_KINDS, 0)
    for s in seeds:
        counts[s.key.split("-", 1)[0]] += 1
    return counts


def article_stream(seeds: list[Seed], count: int, seed: int = 7) -> list[SyntheticArticle]:
    """The first `count` articles of the deterministic stream: passes over the weighted seeds, a new place each time."""
    rng = random.Random(seed)
    deck = [s for s in seeds for _ in range(s.weight)]
    occurrences: dict[str, int] = {}
    offsets = {s.key: rng.randrange(len(PLACES)) for s in seeds}
    out: list[SyntheticArticle] = []
    while len(out) < count:
        order = deck[:]
        rng.shuffle(order)
        for s in order:
            if len(out) >= count:
                break
            n = occurrences.get(s.key, 0)
            occurrences[s.key] = n + 1
            # Step through the places with a stride coprime to their count: every place before a repeat.
            district, place = PLACES[(offsets[s.key] + n * 17) % len(PLACES)]
            out.append(SyntheticArticle(f"{s.key}-{slug(place)}-{n}", s, district, place, n))
    return out


def _with_place(question: str, place: str) -> str:
    """Add the place to a question the way a resident would ("... förskola i Skarpnäck?")."""
    question = question.strip()
    mark = "?" if question.endswith("?") else ""
    return f"{question.rstrip('?. ')} i {place}{mark}"


def _office_key(article: SyntheticArticle) -> str:
    return f"{article.seed.area}-{slug(article.district)}"


def _article_markdown(article: SyntheticArticle, pool: dict[str, list[str]], rng: random.Random) -> str:
    s = article.seed
    questions = rng.sample(s.alt_questions, min(len(s.alt_questions), rng.randint(1, 3))) if s.alt_questions else []
    meta = {"id": article.id, "title": _with_place(s.title, article.place), "office": _office_key(article)}
    if s.audience != "public":
        meta["audience"] = s.audience
    if questions:
        meta["alt_questions"] = [_with_place(q, article.place) for q in questions]
    if s.tags:
        meta["tags"] = s.tags + [article.place.lower()]
    intro = f"Det här gäller dig som bor i {article.place} ({article.district})."
    extra = rng.sample(pool[s.area], min(len(pool[s.area]), rng.randint(0, 4)))
    parts = [intro, s.body.strip()]
    if extra:
        parts.append("## Bra att veta\n\n" + " ".join(extra))
    for note in s.internal:
        parts.append(f"::: intern\n{note.strip()}\n:::")
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{front}---\n" + "\n\n".join(parts) + "\n"


def _office_yaml(area_name: str, district: str, index: int) -> str:
    hours = {d: "08:00-16:30" for d in ("mon", "tue", "wed", "thu")} | {"fri": "08:00-16:00"}
    office = {"name": f"{area_name}, {district}",
              "description": f"Frågor om {area_name.lower()} för boende i stadsdelsområdet {district}.",
              "phone": f"08-508 {10 + index % 80:02d} {index % 1000:03d}", "email": "kontaktcenter@stockholm.se",
              "hours": hours}
    return yaml.safe_dump(office, allow_unicode=True, sort_keys=False)


def make_queries(articles: list[SyntheticArticle], count: int, seed: int = 11) -> list[dict]:
    """`count` distinct queries, each a seed question placed where a generated article answers it."""
    rng = random.Random(seed)
    same_place: dict[tuple[str, str], list[str]] = {}
    for article in articles:
        same_place.setdefault((article.seed.key, article.place), []).append(article.id)
    candidates = [a for a in articles if a.seed.queries]
    rng.shuffle(candidates)
    queries: list[dict] = []
    seen: set[str] = set()
    round_ = 0
    while len(queries) < count and round_ < 50:
        for article in candidates:
            if len(queries) >= count:
                break
            if round_ >= len(article.seed.queries):
                continue
            text = _with_place(article.seed.queries[(article.occurrence + round_) % len(article.seed.queries)],
                               article.place)
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            queries.append({"query": text, "relevant": same_place[(article.seed.key, article.place)]})
        round_ += 1
    return queries


def write_corpus(out_dir: Path, count: int, query_count: int = 500, seed: int = 7,
                 seeds: list[Seed] | None = None) -> tuple[Path, Path]:
    """Write (or reuse) `count` articles as content/ and `query_count` queries as queries.jsonl under out_dir."""
    out_dir = Path(out_dir)
    seeds = seeds if seeds is not None else load_seeds()
    stamp = {"generator": GENERATOR_VERSION, "articles": count, "queries": query_count, "seed": seed,
             "seeds": seed_counts(seeds)}
    content, queries_file, stamp_file = out_dir / "content", out_dir / "queries.jsonl", out_dir / "corpus.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp:
        return content, queries_file
    shutil.rmtree(out_dir, ignore_errors=True)
    articles = article_stream(seeds, count, seed)
    pool: dict[str, list[str]] = {}
    for s in seeds:
        if s.audience == "public":
            pool.setdefault(s.area, []).extend(_sentences(s.body)[:6])
    rng = random.Random(seed * 31 + 1)
    offices: dict[str, tuple[str, str]] = {}
    for article in articles:
        offices.setdefault(_office_key(article), (article.seed.area_name, article.district))
    for index, (key, (area_name, district)) in enumerate(sorted(offices.items())):
        (content / key).mkdir(parents=True, exist_ok=True)
        (content / key / "_office.yaml").write_text(_office_yaml(area_name, district, index), encoding="utf-8")
    for article in articles:
        path = content / _office_key(article) / f"{article.id}.md"
        path.write_text(_article_markdown(article, pool, rng), encoding="utf-8")
    queries = make_queries(articles, query_count, seed + 4)
    queries_file.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
    stamp_file.write_text(json.dumps(stamp))
    return content, queries_file
