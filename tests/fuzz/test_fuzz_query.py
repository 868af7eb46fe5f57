"""Property tests of the query path: Searcher.search, /sok, /sok.json and /api/v1/search with arbitrary unicode,
control characters, undecodable bytes, huge input and odd parameters. Never an exception or a 5xx, never
internal content for a resident. At least 5 000 cases with a fixed seed (10x in `make fuzz`)."""
from __future__ import annotations

import os
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CANARY
from tests.web.conftest import app_config

SCALE = int(os.environ.get("KB_FUZZ_SCALE", "1"))
CASES = int(os.environ.get("KB_FUZZ_CASES", 5000 * SCALE))
FUZZ = settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
ENDPOINTS = ("/sok", "/sok.json", "/api/v1/search")

any_char = st.characters(codec=None, exclude_categories=("Cs",))           # every code point but surrogates
words = st.sampled_from(["dagis", "kö", "parkeringstillstånd", "miten", "hot", "förskola", "AND", "OR", "NOT", "*",
                         "?", '"', "(", ")", "~2", "^3", "title:", "\\", "%", "::: intern", "<script>", "\u200b",
                         "\u202e", "\ufeff", "\x00", "\x1b[31m", "𝔡𝔞𝔤𝔦𝔰", "ǅ", "ß", "İ", "ﬁ"])
queries = st.one_of(
    st.text(any_char, max_size=60),
    st.lists(words, max_size=12).map(" ".join),
    st.builds(lambda piece, times: piece * times, st.text(any_char, min_size=1, max_size=4), st.integers(50, 3000)),
    st.text(st.characters(max_codepoint=0x1F), max_size=20),                # control characters only
)
params = st.one_of(st.none(), st.text(any_char, max_size=30),
                   st.sampled_from(["parkering", "forskola", "avfall", "Parkering", "sv", "fi", "en", "", " "]))
k_values = st.one_of(st.none(), st.integers(-10, 200).map(str), st.text(any_char, max_size=5),
                     st.sampled_from(["1", "50", "51", "0", "1e3", "٣", "+5", " 5"]))


@pytest.fixture(scope="module")
def client(searcher, built_data_dir, tmp_path_factory):
    """One app for all cases (rate limits off: thousands of requests from one client)."""
    from web import create_app

    app = create_app(app_config(searcher, built_data_dir, tmp_path_factory.mktemp("query-fuzz"),
                                KB_RATE_LIMITS="false"))
    return app.test_client()


def _check_searcher(searcher, query, office, group, language, k):
    k = int(k) if k and k.isascii() and k.isdigit() and 1 <= int(k) <= 50 else 10
    result = searcher.search(query, office=office, group=group, language=language, audience="public", k=k).to_dict()
    assert len(result["hits"]) <= k
    assert all(hit["audience"] == "public" for hit in result["hits"])
    assert all(0 <= hit["confidence"] <= 1 for hit in result["hits"])


def _check_http(client, endpoint, raw_query):
    response = client.get(endpoint, query_string=raw_query)
    assert response.status_code in (200, 302, 400), (endpoint, raw_query, response.status_code)
    body = response.get_data(as_text=True)
    if endpoint != "/sok":
        payload = response.get_json()
        assert payload is not None, (endpoint, raw_query)
        if response.status_code == 400:
            assert payload["error"] in {"query_too_long", "unreadable_query", "missing_query", "bad_k", "bad_filter"}
    if CANARY not in urllib.parse.unquote(raw_query, errors="replace"):
        assert CANARY not in body


@FUZZ
@given(target=st.sampled_from(("searcher",) + ENDPOINTS), query=queries, office=params, group=params,
       language=params, k=k_values, raw_bytes=st.one_of(st.none(), st.binary(max_size=40)))
def test_the_query_path_never_fails(searcher, client, target, query, office, group, language, k, raw_bytes):
    if target == "searcher":
        _check_searcher(searcher, query, office, group, language, k)
        return
    pairs = [(name, value) for name, value in (("q", query), ("office", office), ("group", group),
                                                ("language", language), ("k", k)) if value is not None]
    raw_query = urllib.parse.urlencode(pairs)
    if raw_bytes is not None:
        # Bytes that are often not UTF-8 at all, %-escaped as a browser or a script might send them.
        raw_query += "&q=" + urllib.parse.quote_from_bytes(raw_bytes)
    _check_http(client, target, raw_query)
