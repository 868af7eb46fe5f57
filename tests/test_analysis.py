"""Swedish keyword analysis: compounds either way, stems, stop words."""
import math

from indexer.analysis import LEAST_ZIPF_READ, _word_frequencies, analyze, split_compound


def test_compound_is_split_into_dictionary_words():
    assert split_compound("parkeringstillstånd") == ("parkering", "tillstånd")
    assert split_compound("förskoleklass") == ("förskola", "klass")
    assert split_compound("felparkeringsavgift") == ("fel", "parkering", "avgift")


def test_common_words_and_inflections_are_not_split():
    assert split_compound("tillstånd") == ()
    assert split_compound("handläggaren") == ()
    assert split_compound("stockholm") == ()


def test_split_and_joined_spellings_share_terms():
    joined = set(analyze("parkeringstillstånd"))
    apart = set(analyze("tillstånd för parkering"))
    assert apart <= joined


def test_stop_words_dropped_and_words_stemmed():
    terms = analyze("Hur ansöker jag om parkeringstillstånden?")
    assert "hur" not in terms and "jag" not in terms
    assert "ansök" in terms


def test_word_frequencies_are_wordfreq_s_own():
    """Reading wordfreq's data file ourselves gives wordfreq's own Swedish frequencies, for every word
    common enough to count as a compound part (rarer ones score as unknown words either way)."""
    import wordfreq

    ours, theirs = _word_frequencies(), wordfreq.get_frequency_dict("sv")
    assert all(theirs[word] == freq for word, freq in ours.items())
    common = {word for word, freq in theirs.items() if math.log10(freq) + 9 >= LEAST_ZIPF_READ}
    assert common <= ours.keys()
    assert 50_000 < len(ours) < len(theirs)
