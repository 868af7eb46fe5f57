"""UI translations: every string in the code and templates is translated, and the committed .mo files are current."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "web"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "add_link": (2,)}   # add_link: editor menu labels
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def extracted_ids() -> set[str]:
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(WEB), METHODS, keywords=KEYWORDS, options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}}):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("language", ["fi", "en"])
def test_every_ui_string_is_translated(language):
    with open(WEB / "translations" / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string
                  and all(m.string if isinstance(m.string, tuple) else [m.string])}
    missing = sorted(extracted_ids() - translated)
    assert not missing, f"untranslated in {language} (run `make translations`, then translate): {missing}"


@pytest.mark.parametrize("language", ["fi", "en"])
def test_compiled_catalog_matches_the_po_file(language):
    folder = WEB / "translations" / language / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as handle:
        source = read_po(handle)
    with open(folder / "messages.mo", "rb") as handle:
        compiled = read_mo(handle)
    def table(catalog):
        return {_key(m.id): _key(m.string) for m in catalog if m.id}

    assert table(compiled) == table(source), "messages.mo is stale: run `make translations`"


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_english_ui(client):
    client.set_cookie("kb_lang", "en")
    html = client.get("/sok", query_string={"q": "xyzzy"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "We found no certain answer" in html
    assert "Open now, closes at 16:30" in html and "Mon–Thu" in html


def test_unknown_language_cookie_falls_back_to_swedish(client):
    client.set_cookie("kb_lang", "xx")
    assert '<html lang="sv">' in client.get("/").get_data(as_text=True)
