"""The OpenAPI 3.1 document of /api/v1; tests validate real responses against its schemas."""
from __future__ import annotations

from typing import Any

NULLABLE_STRING = {"type": ["string", "null"]}


def _object(properties: dict, required: list[str] | None = None) -> dict:
    """A closed object schema: every property listed, so a new field must be documented here first."""
    return {"type": "object", "properties": properties, "required": required if required is not None else
            list(properties), "additionalProperties": False}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


SIGNAL = _object({"rank": {"type": ["integer", "null"]}, "score": {"type": ["number", "null"]}})
LANGUAGE_REF = _object({"id": {"type": "string"}, "language": {"type": "string"}, "title": {"type": "string"}})
HOURS = {"type": "object", "additionalProperties": {"type": "string"},
         "description": "Weekday (mon..sun) to 'HH:MM-HH:MM' or 'closed'; a missing day is closed."}

SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": {"type": "string", "description": "Machine-readable code, e.g. query_too_long."},
                      "message": {"type": "string", "description": "Explanation for people."}}),
    "Hit": _object({
        "id": {"type": "string"}, "title": {"type": "string"}, "office": {"type": "string"},
        "group": {"type": "string"}, "language": {"type": "string"},
        "audience": {"enum": ["public", "internal"]},
        "score": {"type": "number"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "matched": {"type": "array", "items": {"enum": ["keyword", "vector"]}},
        "snippet": {"type": "string", "description": "HTML-escaped extract; matched words wrapped in <mark>."},
        "signals": _object({"keyword": SIGNAL, "vector": SIGNAL, "sparse": _object(
            {"score": {"type": ["number", "null"], "description": "learned-sparse cosine (null: not scored)"}})}),
        "translations": {"type": "array", "items": LANGUAGE_REF},
        "translation_of": NULLABLE_STRING,
    }),
    "SearchResult": _object({
        "query": {"type": "string", "description": "The question as searched (control characters removed)."},
        "audience": {"enum": ["public", "internal"]},
        "confidence": {"type": "number"},
        "low_confidence": {"type": "boolean", "description": "True when no hit is likely to answer the question."},
        "method": {"enum": ["hybrid", "keyword", "vector"]},
        "took_ms": {"type": "number"}, "version": {"type": "string", "description": "Index version searched."},
        "hits": {"type": "array", "items": _ref("Hit")},
    }),
    "Article": _object({
        "id": {"type": "string"}, "title": {"type": "string"}, "office": {"type": "string"},
        "office_name": {"type": "string"}, "group": {"type": "string"}, "language": {"type": "string"},
        "translation_of": NULLABLE_STRING,
        "html": {"type": "string", "description": "The public answer as sanitised HTML."},
        "text": {"type": "string", "description": "Title, answer and e-service links as plain text."},
        "links": {"type": "array", "items": _object({"title": {"type": "string"}, "url": {"type": "string"}})},
        "related": {"type": "array", "items": LANGUAGE_REF},
        "translations": {"type": "array", "items": LANGUAGE_REF},
        # Only with audience=internal:
        "audience": {"enum": ["public", "internal"]},
        "internal_notes": {"type": "array", "items": {"type": "string"}, "description": "HTML, handlers only."},
        "owner": {"type": "string"},
        "reviewed": NULLABLE_STRING, "review_due": NULLABLE_STRING, "review_overdue": {"type": "boolean"},
    }, required=["id", "title", "office", "office_name", "group", "language", "translation_of", "html", "text",
                 "links", "related", "translations"]),
    "Office": _object({
        "key": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
        "group": {"type": "string"}, "phone": {"type": "string"}, "email": {"type": "string"},
        "web": {"type": "string"}, "hours": HOURS,
        "summer": {"oneOf": [{"type": "null"}, {
            "type": "object", "properties": {"from": {"type": "string"}, "until": {"type": "string"}, "hours": HOURS},
            "required": ["from", "until"]}]},
        "exceptions": {"type": "array", "items": _object(
            {"date": {"type": "string"}, "hours": {"type": "string"}, "note": {"type": "string"}})},
        "open_now": {"type": "boolean", "description": "Open at this moment (Europe/Stockholm)."},
        "closes_at": {**NULLABLE_STRING, "description": "When open: today's closing time (ISO 8601)."},
        "opens_at": {**NULLABLE_STRING, "description": "When closed: the next opening (ISO 8601), if any."},
        "referral": {"type": "string", "description": "Referral text, handlers only."},
    }, required=["key", "name", "description", "group", "phone", "email", "web", "hours", "summer", "exceptions",
                 "open_now", "closes_at", "opens_at"]),
    "Notice": _object({
        "id": {"type": "string"}, "title": {"type": "string"}, "html": {"type": "string"},
        "valid_from": NULLABLE_STRING, "valid_until": NULLABLE_STRING,
        "offices": {"type": "array", "items": {"type": "string"}, "description": "Empty: all offices."},
        "audience": {"enum": ["public", "internal"]},
    }),
}

PARAMETERS = {
    "audience": {"name": "audience", "in": "query", "schema": {"enum": ["public", "internal"], "default": "public"},
                 "description": "internal needs a handler's session or API token."},
    "q": {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 500},
          "description": "The question, in any language."},
    "office": {"name": "office", "in": "query", "schema": {"type": "string"}, "description": "Office key filter."},
    "group": {"name": "group", "in": "query", "schema": {"type": "string"}, "description": "Answer group filter."},
    "language": {"name": "language", "in": "query", "schema": {"type": "string"},
                 "description": "Article language filter (sv, fi, en, ...)."},
    "k": {"name": "k", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}},
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    texts = {400: "Unusable request (too long or unreadable query, bad parameter).",
             401: "audience=internal without a valid session or token.", 403: "The account may not see this.",
             404: "No such article (or not visible to this audience).",
             503: "The index is not built or the model is missing."}
    return {str(code): _json(_ref("Error"), texts[code]) for code in codes}


def _get(summary: str, parameters: list[str], schema: dict, *errors: int, extra: list | None = None) -> dict:
    return {"get": {
        "summary": summary,
        "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in parameters] + (extra or []),
        "security": [{}, {"bearerAuth": []}, {"sessionCookie": []}],
        "responses": {"200": _json(schema, "OK"), **_errors(*errors)},
    }}


def document() -> dict:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kunskapsbanken API", "version": "1.0.0",
                 "description": "Answers of Kontaktcenter Stockholm. Public content by default; "
                                "audience=internal (internal articles, internal notes, referral texts) needs a "
                                "handler's session or an API token from `kb user token NAME`."},
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/search": _get("Search the answers", ["q", "office", "group", "language", "k", "audience"],
                            _ref("SearchResult"), 400, 401, 403, 503),
            "/articles/{id}": _get("One article", ["audience"], _ref("Article"), 400, 401, 403, 404, 503,
                                   extra=[{"name": "id", "in": "path", "required": True,
                                           "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"}}]),
            "/offices": _get("Offices with contact details and opening hours", ["audience"],
                             _object({"offices": {"type": "array", "items": _ref("Office")}}), 400, 401, 403, 503),
            "/notices": _get("Active notices (disruptions)", ["audience"],
                             _object({"notices": {"type": "array", "items": _ref("Notice")}}), 400, 401, 403, 503),
            "/openapi.json": {"get": {"summary": "This document", "security": [{}],
                                      "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
        },
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Token from `kb user token NAME`."},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "kb_session"},
            },
        },
    }
