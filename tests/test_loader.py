"""The content model: what an editor's mistakes look like, and that the rest still loads."""
import datetime as dt
from pathlib import Path

import pytest

from kb.loader import load_content
from kb.parse_cache import ParseCache
from tests.conftest import FIXTURE_CONTENT, TODAY


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def messages(corpus):
    return [str(issue) for issue in corpus.issues]


def test_fixture_corpus_loads_without_errors():
    corpus = load_content(FIXTURE_CONTENT, today=TODAY)
    assert corpus.errors == []
    assert "parkeringstillstand-rorelsehindrad" in corpus.articles
    assert set(corpus.offices) == {"parkering", "forskola", "avfall"}
    assert len(corpus.notices) == 2 and corpus.synonyms


def test_minimal_article_gets_defaults():
    article = load_content(FIXTURE_CONTENT, today=TODAY).articles["forskola-oppettider"]
    assert article.audience == "public" and article.language == "sv"
    assert article.review_every == 365 and article.alt_questions == [] and article.links == []
    assert article.group == "Förskola"  # the office's name when neither article nor office names a group


def test_internal_block_is_separated_from_public_text():
    article = load_content(FIXTURE_CONTENT, today=TODAY).articles["parkeringstillstand-rorelsehindrad"]
    assert "KANARIEFÅGEL" not in article.public_body
    assert "Handläggningstid" in article.public_body
    assert any("KANARIEFÅGEL" in note for note in article.internal_notes)


def test_malformed_yaml_is_reported_with_line_and_other_files_still_load(content_copy):
    write(content_copy / "avfall" / "trasig.md", "---\nid: trasig\ntitle: [oavslutad\noffice: avfall\n---\nText\n")
    corpus = load_content(content_copy, today=TODAY)
    problems = [m for m in messages(corpus) if "trasig.md" in m]
    assert len(problems) == 1 and "malformed YAML" in problems[0]
    assert problems[0].startswith("content/avfall/trasig.md:4:")
    assert "grovsopor-lamna" in corpus.articles and "trasig" not in corpus.articles


def test_unknown_field_names_its_line(content_copy):
    write(content_copy / "avfall" / "x.md", "---\nid: x-1\ntitle: Fråga?\noffice: avfall\nowmer: Anna\n---\nSvar.\n")
    problems = [m for m in messages(load_content(content_copy, today=TODAY)) if "x.md" in m]
    assert problems == ["content/avfall/x.md:5: unknown field 'owmer' in article (known: id, title, office, group, "
                        "audience, language, translation_of, alt_questions, tags, owner, reviewed, review_every, "
                        "valid_until, related, links, draft)"]


def test_missing_required_field_and_bad_date_and_wrong_office(content_copy):
    write(content_copy / "avfall" / "a.md", "---\nid: a-1\noffice: avfall\n---\nSvar.\n")
    write(content_copy / "avfall" / "b.md", "---\nid: b-1\ntitle: F?\noffice: avfall\nreviewed: 2026-13-01\n---\nS\n")
    write(content_copy / "avfall" / "c.md", "---\nid: c-1\ntitle: F?\noffice: parkering\n---\nS\n")
    text = "\n".join(messages(load_content(content_copy, today=TODAY)))
    assert "a.md:1: missing required field 'title'" in text
    assert "b.md:5: invalid date in 'reviewed'" in text
    assert "c.md:4: office 'parkering' does not match the folder 'avfall'" in text


def test_duplicate_id_unknown_office_and_dangling_references(content_copy):
    write(content_copy / "avfall" / "dubblett.md", "---\nid: missad-hamtning\ntitle: F?\noffice: avfall\n---\nS\n")
    write(content_copy / "okand" / "a.md", "---\nid: okand-1\ntitle: F?\noffice: okand\n---\nS\n")
    write(content_copy / "avfall" / "ref.md",
          "---\nid: ref-1\ntitle: F?\noffice: avfall\nrelated: [finns-inte]\n---\nS\n")
    corpus = load_content(content_copy, today=TODAY)
    text = "\n".join(messages(corpus))
    assert ("content/avfall/missad-hamtning.md:2: duplicate id 'missad-hamtning' "
            "(already used in content/avfall/dubblett.md)") in text
    assert "unknown office 'okand'" in text
    assert "related id 'finns-inte' does not exist" in text
    assert corpus.articles["ref-1"].related == []  # dangling references are dropped after reporting


def test_overdue_review_is_a_warning_not_an_error():
    corpus = load_content(FIXTURE_CONTENT, today=TODAY)
    overdue = [i for i in corpus.issues if "review overdue" in i.message]
    assert [i.severity for i in overdue] == ["warning"]
    assert "felparkeringsavgift.md" in overdue[0].path and overdue[0].line == 6  # the `reviewed:` line


def test_unclosed_internal_block_stays_internal(content_copy):
    write(content_copy / "avfall" / "u.md", "---\nid: u-1\ntitle: F?\noffice: avfall\n---\nPublik.\n::: intern\nHemlig\n")
    corpus = load_content(content_copy, today=TODAY)
    assert corpus.articles["u-1"].public_body == "Publik."
    assert any("u.md:7: warning: '::: intern' block is not closed" in m for m in messages(corpus))


def test_binary_file_is_reported_not_fatal(content_copy):
    (content_copy / "avfall" / "bin.md").write_bytes(b"\xff\xfe\x00binary")
    corpus = load_content(content_copy, today=TODAY)
    assert any("bin.md:1: not UTF-8 text" in m for m in messages(corpus))
    assert "missad-hamtning" in corpus.articles


def test_lint_command_prints_path_line_and_exits_nonzero(runner, kb_cli, content_copy):
    ok = runner.invoke(kb_cli, ["--content-dir", str(content_copy), "lint"])
    assert ok.exit_code == 0, ok.output
    write(content_copy / "avfall" / "trasig.md", "---\nid: Trasig Id\ntitle: F?\noffice: avfall\n---\nS\n")
    bad = runner.invoke(kb_cli, ["--content-dir", str(content_copy), "lint"])
    assert bad.exit_code == 1
    assert "content/avfall/trasig.md:2: invalid id 'Trasig Id'" in bad.output


def _load_after(content, cache, changed: set[str], today=TODAY):
    """A load as `kb index --watch` runs it: told which paths changed; (corpus, was it a whole load?)."""
    cache.hits = cache.misses = 0
    cache.changed = {f"{content.name}/{path}" for path in changed}
    try:
        corpus = load_content(content, today=today, cache=cache)
    finally:
        cache.changed = None
    return corpus, cache.hits > 0   # a whole load takes every unchanged file from the cache


def test_an_edit_patches_the_loaded_corpus_into_what_a_whole_load_gives(content_copy):
    cache = ParseCache()
    load_content(content_copy, today=TODAY, cache=cache)
    path = content_copy / "avfall" / "missad-hamtning.md"
    text = path.read_text(encoding="utf-8")
    # Edited: a new body, a dangling related id (an error, and dropped) and an overdue review (a warning).
    path.write_text(text.replace("office: avfall\n", "office: avfall\nrelated: [finns-inte, grovsopor-lamna]\n"
                                 "reviewed: 2020-01-01\n").replace("två arbetsdagar", "tre arbetsdagar"),
                    encoding="utf-8")
    patched, whole = _load_after(content_copy, cache, {"avfall/missad-hamtning.md"})
    assert not whole
    fresh = load_content(content_copy, today=TODAY)
    assert list(patched.articles) == list(fresh.articles) and patched.articles == fresh.articles
    assert patched.issues == fresh.issues
    assert patched.articles["missad-hamtning"].related == ["grovsopor-lamna"]
    assert "related id 'finns-inte' does not exist" in "\n".join(messages(patched))
    # Mended again: the issues go with it, and the cache still gives a whole load the file's own references.
    path.write_text(text, encoding="utf-8")
    patched, whole = _load_after(content_copy, cache, {"avfall/missad-hamtning.md"})
    assert not whole and patched.issues == load_content(content_copy, today=TODAY).issues
    assert cache.entries["content/avfall/missad-hamtning.md"][1][0].related == []


@pytest.mark.parametrize("change", ["id", "removed", "added", "broken", "office", "folder", "day"])
def test_what_an_edit_cannot_patch_loads_the_whole_folder(content_copy, change):
    cache = ParseCache()
    load_content(content_copy, today=TODAY, cache=cache)
    path, changed, today = content_copy / "avfall" / "missad-hamtning.md", {"avfall/missad-hamtning.md"}, TODAY
    text = path.read_text(encoding="utf-8")
    if change == "id":
        path.write_text(text.replace("id: missad-hamtning", "id: missad-hamtning-2"), encoding="utf-8")
    elif change == "removed":
        path.unlink()
    elif change == "added":
        changed = {"avfall/ny.md"}
        write(content_copy / "avfall" / "ny.md", "---\nid: ny\ntitle: Ny\noffice: avfall\n---\nText.\n")
    elif change == "broken":
        path.write_text("---\nid: [\n---\n", encoding="utf-8")
    elif change == "office":
        changed = {"avfall/_office.yaml"}
        office = content_copy / "avfall" / "_office.yaml"
        office.write_text(office.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    elif change == "folder":
        changed = {"avfall"}
    else:
        today = TODAY + dt.timedelta(days=1)
    corpus, whole = _load_after(content_copy, cache, changed, today)
    assert whole
    fresh = load_content(content_copy, today=today)
    assert corpus.articles == fresh.articles and corpus.issues == fresh.issues
