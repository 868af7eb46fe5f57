"""Swedish text analysis for the keyword index: tokens, stop words, compound splitting, stemming.

Swedish writes compounds as one word ("parkeringstillstånd"); residents often
write them apart ("tillstånd för parkering"). Splitting compounds into their
parts at index and query time lets either spelling find the other.
"""
from __future__ import annotations

import math
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import Stemmer
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StopFilter
from whoosh.lang import stopwords_for_language

# Bump when the analysis changes: indexes built with another version are rebuilt.
ANALYZER_VERSION = "sv-compound-3"

STOP_WORDS = frozenset(stopwords_for_language("sv")) | {"hur", "vad", "vem", "var", "när", "kan", "får", "ska", "jag"}
MIN_PART = 2          # shortest part a compound is split into ("förskole|kö")
MIN_COMPOUND = 6      # shortest word worth trying to split
MIN_PART_ZIPF = 2.5   # a part must be at least this common a Swedish word (wordfreq zipf scale)
SHORT_PART_ZIPF = 4.0  # parts of 2-3 letters must be very common words ("mat", "fel", "kö"), not "ing"
NO_SPLIT_ZIPF = 3.9   # words this common are words in their own right ("parkering", "tillstånd")

_stemmer = Stemmer.Stemmer("swedish")


# The rarest words the splitter can tell apart: below this zipf every test above says "not a word".
LEAST_ZIPF_READ = min(MIN_PART_ZIPF, SHORT_PART_ZIPF, NO_SPLIT_ZIPF - 0.3)


@lru_cache(maxsize=1)
def _word_frequencies() -> dict[str, float]:
    """Swedish word frequencies from wordfreq (a real corpus-derived word list, installed from PyPI).

    Read straight from wordfreq's data file, as wordfreq.get_frequency_dict("sv") reads it (the same
    values, tested): importing wordfreq itself pulls in langcodes and ftfy, about 0.4 s of every
    fresh `kb index` that meets a compound. Only words of zipf >= LEAST_ZIPF_READ are read (59 000
    of 341 000): rarer ones score as unknown words either way, and reading them cost 0.3 s.
    """
    import gzip

    import msgpack

    data = Path(find_spec("wordfreq").submodule_search_locations[0]) / "data"
    # wordfreq's "best" list: the large one where it exists.
    path = next(p for p in (data / "large_sv.msgpack.gz", data / "small_sv.msgpack.gz") if p.is_file())
    with gzip.open(path, "rb") as handle:
        unpacker = msgpack.Unpacker(handle, raw=False, max_buffer_size=64 * 2**20)
        count = unpacker.read_array_header()
        header = unpacker.unpack()
        if not isinstance(header, dict) or header.get("format") != "cB" or header.get("version") != 1:
            raise ValueError(f"{path}: not a wordfreq cBpack file ({header})")
        # Bucket i holds the words of frequency -i centibels (wordfreq.cB_to_freq): zipf 9 - i / 100.
        last = math.ceil((9 - LEAST_ZIPF_READ) * 100)
        frequencies = {}
        for index in range(min(count - 1, last + 1)):
            frequency = 10 ** (-index / 100)   # once per bucket, not per word
            frequencies.update(dict.fromkeys(unpacker.unpack(), frequency))
        return frequencies


def _zipf(word: str) -> float:
    freq = _word_frequencies().get(word, 0.0)
    return math.log10(freq) + 9 if freq > 0 else 0.0


def _modifier_forms(part: str) -> list[str]:
    """Dictionary forms a compound's first part may stand for ("parkerings" -> "parkering", "förskole" -> "förskola")."""
    forms = [part]
    if part.endswith("s") and len(part) > 4:
        forms.append(part[:-1])  # linking -s-: parkerings|tillstånd
    if part.endswith(("e", "o", "u")):
        forms.append(part[:-1] + "a")  # förskole|klass, kyrko|gård, gatu|kök
    forms.append(part + "a")  # skol|gård -> skola
    forms.append(part + "e")  # pojk|vän -> pojke
    return forms


@lru_cache(maxsize=1)
def _known_words() -> dict[str, float]:
    """Every word `_known` accepts, with its zipf frequency.

    Made once per process: compound splitting asks about every substring of a word (840 000 times
    for 12 500 new words), and a logarithm and two tests per question were 40 % of it.
    """
    # The frequencies come in a few hundred buckets of one value each: a logarithm per bucket, not per
    # word (59 000 of them were 0.1-0.2 s of every fresh `kb index` that analyses a word).
    zipf = {frequency: math.log10(frequency) + 9 for frequency in set(_word_frequencies().values())}
    return {word: zipf[frequency] for word, frequency in _word_frequencies().items()
            if len(word) >= MIN_PART and word not in STOP_WORDS
            and zipf[frequency] >= (SHORT_PART_ZIPF if len(word) < 4 else MIN_PART_ZIPF)}


def _known(word: str) -> float:
    """Zipf frequency if `word` is a common enough Swedish word, else 0."""
    return _known_words().get(word, 0.0)


@lru_cache(maxsize=200_000)
def split_compound(word: str) -> tuple[str, ...]:
    """Split a Swedish compound into dictionary words, or return () when it is not one.

    Dynamic programming over split points: the head (last part) must be a
    known word as written; earlier parts may carry a linking -s- or a changed
    final vowel. Among possible splits the one with the fewest parts, then the
    most common parts, wins.
    """
    if len(word) < MIN_COMPOUND or not word.isalpha() or _is_plain_word(word):
        return ()
    n = len(word)
    known = _known_words()
    # best[i] = (parts, score) for the prefix word[:i] made only of modifier parts
    best: dict[int, tuple[tuple[str, ...], float]] = {0: ((), 0.0)}
    for end in range(MIN_PART, n - MIN_PART + 1):
        for start in range(0, end - MIN_PART + 1):
            if start not in best:
                continue
            piece = word[start:end]
            form, score = piece, 0.0
            for candidate_form in _modifier_forms(piece):   # the most common form; the first of equals
                candidate_score = known.get(candidate_form, 0.0)
                if candidate_score > score:
                    form, score = candidate_form, candidate_score
            if score == 0.0:
                continue
            parts, total = best[start]
            candidate = (parts + (form,), total + score)
            if end not in best or _better(candidate, best[end]):
                best[end] = candidate
    result: tuple[tuple[str, ...], float] | None = None
    for start, (parts, total) in best.items():
        if start == 0:
            continue
        head = word[start:]
        head_score = _known(head)
        if head_score == 0.0:
            continue
        candidate = (parts + (head,), total + head_score)
        if result is None or _better(candidate, result):
            result = candidate
    return result[0] if result else ()


_INFLECTIONS = ("erna", "arna", "orna", "en", "et", "na", "n", "t", "er", "ar", "or", "s")


def _is_plain_word(word: str) -> bool:
    """True for a common word, or an inflected form of one ("handläggaren"): not a compound to split."""
    if _zipf(word) >= NO_SPLIT_ZIPF:
        return True
    return any(word.endswith(suffix) and _zipf(word[: -len(suffix)]) >= NO_SPLIT_ZIPF - 0.3
               for suffix in _INFLECTIONS)


def _better(a: tuple[tuple[str, ...], float], b: tuple[tuple[str, ...], float]) -> bool:
    if len(a[0]) != len(b[0]):
        return len(a[0]) < len(b[0])
    return a[1] > b[1]


@lru_cache(maxsize=500_000)
def stem(word: str) -> str:
    """Snowball Swedish stem of a lower-case word."""
    return _stemmer.stemWord(word)


class CompoundSplitFilter(Filter):
    """Yield each token, then the parts of a compound token at the same position."""

    def __call__(self, tokens):
        for token in tokens:
            text = token.text
            yield token
            for part in split_compound(text):
                if part != text and part not in STOP_WORDS:
                    token.text = part
                    yield token


class SwedishStemFilter(Filter):
    """Snowball Swedish stemming (PyStemmer, cached)."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = stem(token.text)
            yield token


def swedish_analyzer():
    """The analyzer used for every text field of the keyword index, at index and query time."""
    return (RegexTokenizer(r"\w+") | LowercaseFilter() | StopFilter(stoplist=STOP_WORDS, minsize=1)
            | CompoundSplitFilter() | SwedishStemFilter())


_analyzer = None


def analyze(text: str) -> list[str]:
    """Terms the keyword index stores for `text` (also used to analyse queries)."""
    global _analyzer
    if _analyzer is None:
        _analyzer = swedish_analyzer()  # built once: composing it costs more than analysing a word
    return [token.text for token in _analyzer(text)]


@lru_cache(maxsize=200_000)
def analyze_word(word: str) -> tuple[str, ...]:
    """`analyze` for one word, cached (snippets and highlighting ask for the same words again and again)."""
    return tuple(analyze(word))
