"""Personal data in the forms people actually type it: none of these may ever be stored or logged."""
from __future__ import annotations

# (text, the token it must become)
CORPUS = [
    ("850101-1234", "[personnummer]"),
    ("850101+1234", "[personnummer]"),
    ("8501011234", "[personnummer]"),
    ("198501011234", "[personnummer]"),
    ("19850101-1234", "[personnummer]"),
    ("19850101 - 1234", "[personnummer]"),
    ("850101 1234", "[personnummer]"),
    ("20121231-9876", "[personnummer]"),
    ("850161-1234", "[personnummer]"),        # samordningsnummer: day + 60
    ("19850191-4321", "[personnummer]"),
    ("070-123 45 67", "[telefon]"),
    ("0701234567", None),                     # a bare 10-digit run: redacted, as phone or personnummer
    ("+46 70 123 45 67", "[telefon]"),
    ("+46701234567", "[telefon]"),
    ("0046 8 508 11000", "[telefon]"),
    ("08-508 11 000", "[telefon]"),
    ("08/123 456 78", "[telefon]"),
    ("(08) 123 45 67", "[telefon]"),
    ("anna.svensson@example.se", "[e-post]"),
    ("kalle+kb@stockholm.se", "[e-post]"),
    ("Storgatan 12", "[adress]"),
    ("Hornsgatan 1A", "[adress]"),
    ("hornsgatan 1 A", "[adress]"),
    ("Ringvägen 100 lgh 1102", "[adress]"),
    ("Sveavägen 44, 111 34 Stockholm", "[adress]"),
    ("Götgatan 3B", "[adress]"),
]
TEXTS = [text for text, _token in CORPUS]


def sentence(text: str) -> str:
    """The corpus string inside a realistic question."""
    return f"hej, {text}, vad gäller för parkering"
