"""Property tests of the Markdown/YAML loader (kb/loader.py) on generated content folders: never an uncaught
exception; every problem reported as `path:line: message` with a real line; what loads is valid and renders
to harmless HTML. At least 5 000 cases with a fixed seed (10x in `make fuzz`)."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.schema import ARTICLE_FIELDS, ID_PATTERN, NOTICE_FIELDS, OFFICE_FIELDS
from tests.conftest import TODAY

SCALE = int(os.environ.get("KB_FUZZ_SCALE", "1"))
CASES = int(os.environ.get("KB_FUZZ_CASES", 5000 * SCALE))
FUZZ = settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
# nh3's output is normalised HTML, so a regex is enough here (tests/web/test_security_xss.py parses pages).
UNSAFE_HTML = re.compile(r"<(script|iframe|object|embed|svg|style|img)\b|\son[a-z]+\s*=|"
                         r"(href|src)\s*=\s*[\"']?\s*(javascript|vbscript|data):", re.I)
ISSUE = re.compile(r"^content/\S.*:(\d+): (warning: )?\S")

text = st.text(st.characters(codec=None, exclude_categories=("Cs",)), max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), text,
                    st.sampled_from(["2026-02-30", "2026-01-01", "08:00-16:30", "closed", "25:00-26:00", "public",
                                     "internal", "https://x.se", "javascript:alert(1)", "::: intern", "---", "~",
                                     "&anchor", "*alias", "!!python/object:os.system", "{", "[", "'", '"']))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.one_of(text, st.sampled_from(
                                                           ["title", "url", "date", "hours", "from", "until", "mon"])),
                                                           inner, max_size=4)), max_leaves=8)
ids = st.one_of(st.sampled_from(["a", "dagis-ko", "Bad Id", "", "x" * 200, "a--b", "ä"]), text)
body_lines = st.one_of(text, st.sampled_from(["::: intern", ":::", "::: INTERN", "# Rubrik", "---", "[l](javascript:x)",
                                              "<script>alert(1)</script>", "| a | b |\n|---|---|", "```", "    kod"]))
bodies = st.lists(body_lines, max_size=10).map("\n".join)


def _front_matter(fields: dict, office: str) -> st.SearchStrategy[str]:
    """YAML front matter: mostly the real fields with odd values, sometimes unknown fields or broken YAML."""
    known = st.fixed_dictionaries({}, optional={name: values for name in fields})
    mapping = st.builds(lambda base, extra, article_id, keep: {**base, **extra, **(
        {"id": article_id, "title": "T", "office": office} if keep else {})},
        known, st.dictionaries(text, values, max_size=2), ids, st.booleans())
    dumped = mapping.map(lambda m: yaml.safe_dump(m, allow_unicode=True, default_flow_style=None))
    return st.one_of(dumped, dumped, text, st.lists(text, max_size=5).map("\n".join))


def _valid_article(office: str) -> st.SearchStrategy[str]:
    """A well-formed article with odd text in it: these must load."""
    meta = st.fixed_dictionaries({"id": st.sampled_from(["a", "dagis-ko", "b2"]), "title": text.filter(str.strip),
                                  "office": st.just(office)},
                                 optional={"alt_questions": st.lists(text, max_size=3), "tags": st.lists(text, max_size=3),
                                           "audience": st.sampled_from(["public", "internal"])})
    return st.builds(lambda m, body: f"---\n{yaml.safe_dump(m, allow_unicode=True)}---\n{body}\n", meta, bodies)


def _article(office: str) -> st.SearchStrategy[str]:
    start = st.sampled_from(["---\n", "---\n", "--- \n", "", "\ufeff---\n", "---\r\n"])
    end = st.sampled_from(["\n---\n", "\n---\n", "\n", "\n--\n", "\n---"])
    return st.builds(lambda s, fm, e, body: s + fm + e + body, start, _front_matter(ARTICLE_FIELDS, office), end, bodies)


office_yaml = st.one_of(
    st.just("name: Kontor\nphone: 08-508 11 000\nhours:\n  mon: '08:00-16:30'\n"),
    st.fixed_dictionaries({"name": st.one_of(text, st.just("Kontor"))}, optional={n: values for n in OFFICE_FIELDS if n != "name"})
    .map(lambda m: yaml.safe_dump(m, allow_unicode=True)),
    text,
)
notice = st.builds(lambda fm, body: f"---\n{fm}\n---\n{body}", _front_matter(NOTICE_FIELDS, "kontor"), bodies)
raw = st.one_of(st.binary(max_size=60), st.text(max_size=60).map(lambda t: t.encode("utf-8")))


def _write(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def test_the_loader_reports_problems_and_never_crashes():
    seen = {"articles": 0, "issues": 0}

    @FUZZ
    @given(office=office_yaml, articles=st.lists(st.one_of(_valid_article("kontor"), _article("kontor"), raw), min_size=1,
                                                       max_size=3),
           notices=st.lists(st.one_of(notice, raw), max_size=2), synonyms=st.one_of(st.none(), text, values.map(
               lambda v: yaml.safe_dump(v, allow_unicode=True))))
    def one_folder(office, articles, notices, synonyms):
        from kb.loader import load_content
        from kb.markdown import render_html

        root = Path(tempfile.mkdtemp(prefix="kb-fuzz-"))
        try:
            content = root / "content"
            _write(content / "kontor" / "_office.yaml", office)
            # The loader counts lines as str.splitlines() does (\r, \x0c, \u2028 ... too).
            lengths = {"content/kontor/_office.yaml": len(office.splitlines()) + 1}
            for number, article in enumerate(articles):
                _write(content / "kontor" / f"a{number}.md", article)
                lengths[f"content/kontor/a{number}.md"] = len(article.splitlines()) + 1
            for number, item in enumerate(notices):
                _write(content / "_notices" / f"n{number}.md", item)
            if synonyms is not None:
                _write(content / "_synonyms.yaml", synonyms)
            corpus = load_content(content, today=TODAY)
            seen["articles"] += len(corpus.articles)
            seen["issues"] += len(corpus.issues)
        finally:
            shutil.rmtree(root)
        for issue in corpus.issues:
            match = ISSUE.match(str(issue))
            assert match, str(issue)
            assert issue.line >= 1
            if issue.path in lengths:
                assert issue.line <= lengths[issue.path] + 1, str(issue)
        for article in corpus.articles.values():
            assert ID_PATTERN.match(article.id) and article.office == "kontor"
            for html in [render_html(article.public_body)] + [render_html(note) for note in article.internal_notes]:
                assert not UNSAFE_HTML.search(html), html

    one_folder()
    assert seen["articles"] > 0 and seen["issues"] > 0   # both valid and broken files were generated
