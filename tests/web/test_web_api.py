"""JSON API v1: scopes, errors, and every response validated against /api/v1/openapi.json."""
from __future__ import annotations

import jsonschema
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.web.conftest import INTERNAL_ARTICLE, PUBLIC_ARTICLE


@pytest.fixture
def spec(client):
    document = client.get("/api/v1/openapi.json").get_json()
    Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})
    return document


def check(spec: dict, path: str, response, status: int = 200) -> dict:
    """Validate a real response against the schema the document declares for (path, status)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    schema = spec["paths"][path]["get"]["responses"][str(status)]["content"]["application/json"]["schema"]
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(
        {**spec, "$schema": "https://json-schema.org/draft/2020-12/schema"}))
    rooted = {**schema, "$schema": "https://json-schema.org/draft/2020-12/schema"}
    rooted = _rebase(rooted)
    Draft202012Validator(rooted, registry=registry).validate(response.get_json())
    return response.get_json()


def _rebase(node):
    """Point the document's local $refs (#/components/...) at the registered document."""
    if isinstance(node, dict):
        return {k: ("urn:openapi" + v if k == "$ref" and v.startswith("#/") else _rebase(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token(app, handler_user):
    from web import accounts

    with app.app_context():
        return accounts.issue_token("hanna")


def test_openapi_document_is_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) == {"/search", "/articles/{id}", "/offices", "/notices", "/openapi.json"}


@pytest.mark.parametrize("query", ["parkeringstillstånd", "miten haen pysäköintilupaa", "dagis kö", "xyzzy"])
def test_public_search_matches_the_schema(client, spec, query):
    body = check(spec, "/search", client.get("/api/v1/search", query_string={"q": query}))
    assert body["audience"] == "public"
    assert all(hit["audience"] == "public" for hit in body["hits"])


def test_search_filters_and_k(client, spec):
    body = check(spec, "/search", client.get("/api/v1/search", query_string={"q": "tillstånd", "k": 2,
                                                                            "office": "parkering"}))
    assert len(body["hits"]) <= 2 and {hit["office"] for hit in body["hits"]} == {"parkering"}


def test_internal_search_needs_credentials(client, spec):
    response = client.get("/api/v1/search", query_string={"q": "hotfull bilist", "audience": "internal"})
    body = check(spec, "/search", response, 401)
    assert body["error"] == "unauthorized" and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_internal_search_with_token(client, spec, token):
    response = client.get("/api/v1/search", query_string={"q": "hotfull bilist", "audience": "internal"},
                          headers=bearer(token))
    body = check(spec, "/search", response)
    assert body["hits"][0]["id"] == INTERNAL_ARTICLE and body["audience"] == "internal"
    assert response.headers["Cache-Control"] == "no-store"


def test_internal_search_with_session(handler_client, spec):
    body = check(spec, "/search", handler_client.get("/api/v1/search", query_string={
        "q": "hotfull bilist", "audience": "internal"}))
    assert body["hits"][0]["id"] == INTERNAL_ARTICLE


def test_wrong_token_is_401_even_for_public_requests(client, spec):
    for header in (bearer("kb_wrong"), bearer(""), {"Authorization": "Basic aGFubmE6eA=="}):
        body = check(spec, "/search", client.get("/api/v1/search?q=dagis", headers=header), 401)
        assert body["error"] == "invalid_token"


def test_token_does_not_open_the_html_workspace(client, token):
    assert client.get("/handlaggare/", headers=bearer(token)).status_code == 302


def test_article_public_and_internal(client, spec, token):
    public = check(spec, "/articles/{id}", client.get(f"/api/v1/articles/{PUBLIC_ARTICLE}"))
    assert "internal_notes" not in public and "owner" not in public
    assert public["related"][0]["id"] == "felparkeringsavgift-bestrida"
    assert public["translations"][0]["language"] == "fi"
    internal = check(spec, "/articles/{id}", client.get(f"/api/v1/articles/{PUBLIC_ARTICLE}?audience=internal",
                                                         headers=bearer(token)))
    assert "kontrollera i systemet Parkera" in internal["internal_notes"][0]
    assert internal["review_due"] == "2027-03-01" and internal["review_overdue"] is False


def test_internal_article_is_404_publicly_and_found_with_token(client, spec, token):
    check(spec, "/articles/{id}", client.get(f"/api/v1/articles/{INTERNAL_ARTICLE}"), 404)
    body = check(spec, "/articles/{id}", client.get(f"/api/v1/articles/{INTERNAL_ARTICLE}?audience=internal",
                                                     headers=bearer(token)))
    assert body["audience"] == "internal"


@pytest.mark.parametrize("article_id", ["finns-inte", "UPPER", "a" * 300, "%00", "forskola-avgift"])
def test_bad_article_ids_are_json_404(client, spec, article_id):
    check(spec, "/articles/{id}", client.get(f"/api/v1/articles/{article_id}"), 404)


def test_offices(client, spec, token):
    body = check(spec, "/offices", client.get("/api/v1/offices"))
    parking = next(o for o in body["offices"] if o["key"] == "parkering")
    assert parking["open_now"] is True and parking["closes_at"] == "2026-11-23T16:30:00+01:00"
    assert "referral" not in parking
    internal = check(spec, "/offices", client.get("/api/v1/offices?audience=internal", headers=bearer(token)))
    assert next(o for o in internal["offices"] if o["key"] == "parkering")["referral"].startswith("Frågor om")


def test_notices(client, spec, token):
    public = check(spec, "/notices", client.get("/api/v1/notices"))
    assert [n["id"] for n in public["notices"]] == ["storning-e-tjanst"]
    internal = check(spec, "/notices", client.get("/api/v1/notices?audience=internal", headers=bearer(token)))
    assert {n["id"] for n in internal["notices"]} == {"storning-e-tjanst", "intern-hog-belastning"}


@pytest.mark.parametrize("query_string, code", [
    ({"q": "x" * 501}, "query_too_long"),
    ({"q": ""}, "missing_query"),
    ({}, "missing_query"),
    ({"q": "dagis", "k": "0"}, "bad_k"),
    ({"q": "dagis", "k": "many"}, "bad_k"),
    ({"q": "dagis", "audience": "everyone"}, "bad_audience"),
    ({"q": "dagis", "office": "<script>"}, "bad_filter"),
])
def test_bad_search_requests_are_clear_400s(client, spec, query_string, code):
    body = check(spec, "/search", client.get("/api/v1/search", query_string=query_string), 400)
    assert body["error"] == code and body["message"]


def test_binary_queries_are_400(client, spec):
    for raw in ("q=%FF%FE", "q=a%00b", "q=%ED%A0%80"):
        body = check(spec, "/search", client.get("/api/v1/search?" + raw), 400)
        assert body["error"] == "unreadable_query"


def test_unknown_api_path_and_method_are_json(client):
    missing = client.get("/api/v1/finns-inte")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    wrong = client.post("/api/v1/search?q=x")
    assert wrong.status_code in (400, 405) and wrong.get_json()["error"]


def test_schema_rejects_an_undocumented_field(spec):
    hit_schema = {**spec["components"]["schemas"]["SearchResult"], "$schema": "https://json-schema.org/draft/2020-12/schema"}
    with pytest.raises(jsonschema.ValidationError):
        Draft202012Validator({**hit_schema, "properties": {**hit_schema["properties"], "hits": {}}}).validate(
            {"query": "", "audience": "public", "confidence": 0, "low_confidence": True, "method": "hybrid",
             "took_ms": 0, "version": "v", "hits": [], "secret": 1})
