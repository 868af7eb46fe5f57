"""Redaction of personal data in free text (queries, comments, reasons) before it is stored or logged.

Pure functions, no I/O. Errs on the side of removing too much: a street number or a
long digit string that only looks personal is cheaper to lose than a real personnummer.
"""
from __future__ import annotations

import re

# Day 01-31, or 61-91 for a samordningsnummer (day + 60).
_DAY = r"(?:0[1-9]|[12]\d|3[01]|6[1-9]|[78]\d|9[01])"
_MONTH = r"(?:0[1-9]|1[0-2])"

EMAIL = re.compile(r"[\w.%+-]+\s?@\s?[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# YYMMDD-NNNN, YYMMDD+NNNN, YYYYMMDDNNNN, YYYYMMDD-NNNN, YYMMDDNNNN, with spaces around the sign or none.
PERSONNUMMER = re.compile(rf"(?<!\d)(?:19|20)?\d{{2}}\s?{_MONTH}\s?{_DAY}\s?[-+–]?\s?\d{{4}}(?!\d)")
# +46 / 0046 / 0 followed by area code and subscriber number, digits grouped by spaces, dashes or slashes.
PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)\s?46[\s-]?(?:\(0\)[\s-]?)?|\(?0)\d{1,3}\)?(?:[\s/-]{0,2}\d){5,8}(?!\d)")
_STREET_SUFFIX = (r"(?:gatan|gata|vägen|väg|gränden|gränd|backen|backe|torget|torg|plan|allén|allé|stigen|stig|"
                  r"gången|gång|leden|led|kajen|kaj|stranden|strand|promenaden|esplanaden|slingan|platsen|"
                  r"liden|lid|bron|bro|hagen|parken|vägen|road|street)")
# "Storgatan 12", "Hornsgatan 1A", "Ringvägen 100 lgh 1102, 118 60 Stockholm".
ADDRESS = re.compile(
    rf"\b[\wÅÄÖåäöéÉüÜ-]*{_STREET_SUFFIX}\s+\d{{1,4}}(?:\s?[a-zA-Z](?![\wåäöÅÄÖ]))?"
    r"(?:\s*,?\s*(?:lgh|lägenhet)\.?\s*\d{1,5})?"
    r"(?:\s*,?\s*\d{3}\s?\d{2}(?:\s+[A-ZÅÄÖ][\wåäöÅÄÖ-]+)?)?",
    re.IGNORECASE)
# Anything else with ten or more digits (account, invoice or case numbers can point at a person too).
LONG_NUMBER = re.compile(r"(?<!\d)\d(?:[\s-]?\d){9,}(?!\d)")

TOKENS = {"email": "[e-post]", "personnummer": "[personnummer]", "phone": "[telefon]", "address": "[adress]",
          "number": "[nummer]"}
# Order matters: e-mail first (its local part may hold digits), personnummer before phone (both are digit runs).
_RULES = ((EMAIL, TOKENS["email"]), (PERSONNUMMER, TOKENS["personnummer"]), (PHONE, TOKENS["phone"]),
          (ADDRESS, TOKENS["address"]), (LONG_NUMBER, TOKENS["number"]))


def redact(text: str | None) -> str:
    """`text` with personnummer, samordningsnummer, phone numbers, e-mail and street addresses replaced by tokens."""
    if not text:
        return ""
    for pattern, token in _RULES:
        text = pattern.sub(token, text)
    return text


def redact_limited(text: str | None, limit: int) -> str:
    """Redacted, then cut to `limit` characters (cut after redaction, so a cut can never leave half a number)."""
    return redact((text or "").strip())[:limit].strip()
