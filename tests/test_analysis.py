"""Swedish keyword analysis: compounds either way, stems, stop words."""
from indexer.analysis import _word_frequencies, analyze, split_compound


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
    """Reading wordfreq's data file ourselves gives exactly wordfreq's Swedish frequency dict."""
    import wordfreq

    assert _word_frequencies() == wordfreq.get_frequency_dict("sv")
