"""kb/redact.py: every corpus form becomes its token; ordinary questions pass unchanged."""
from __future__ import annotations

import pytest

from kb.redact import redact, redact_limited
from tests.events.corpus import CORPUS, sentence


@pytest.mark.parametrize("text,token", CORPUS)
def test_corpus_is_redacted(text, token):
    alone, inside = redact(text), redact(sentence(text))
    assert text not in alone and text not in inside
    if token:
        assert alone == token
        assert inside == sentence(token)
    assert not any(ch.isdigit() for ch in alone), alone


@pytest.mark.parametrize("question", [
    "hur ställer jag mitt barn i kö till dagis",
    "parkeringstillstånd 2012",
    "grovsopor 3 säckar",
    "avgift för förskola 1 300 kr",
    "öppettider måndag 8.00-16.30",
    "miten haen pysäköintilupaa",
    "bus 4 to Slussen",
])
def test_ordinary_questions_pass_unchanged(question):
    assert redact(question) == question


def test_long_account_numbers_are_removed():
    assert redact("OCR 1234 5678 9012 3456") == "OCR [nummer]"


def test_limit_is_applied_after_redaction():
    text = "x" * 8 + " 850101-1234"
    assert redact_limited(text, 12) == "xxxxxxxx [pe"   # a cut token, never a piece of the number
    assert "1234" not in redact_limited(text, 12)
    assert redact_limited(None, 10) == ""
