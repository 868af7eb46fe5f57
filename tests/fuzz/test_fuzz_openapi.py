"""schemathesis against our own OpenAPI document (web/openapi.py), through the WSGI app: zero 5xx and every
answer as documented, over at least 5 000 generated requests with a fixed seed (10x in `make fuzz`)."""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.web.conftest import app_config

SCALE = int(os.environ.get("KB_FUZZ_SCALE", "1"))
TOTAL_CASES = int(os.environ.get("KB_FUZZ_CASES", 5000 * SCALE))
OPERATIONS = ["/search", "/articles/{id}", "/offices", "/notices", "/openapi.json"]
# Search is where the work is: it gets most of the cases.
# /openapi.json has no parameters: one case says all there is to say.
SHARE = {"/search": 0.64, "/articles/{id}": 0.2, "/offices": 0.08, "/notices": 0.08, "/openapi.json": 0}


@pytest.fixture(scope="module")
def schema(searcher, built_data_dir, tmp_path_factory):
    """The schema as the running app serves it (rate limits off: 5 000 requests from one client)."""
    from web import create_app

    app = create_app(app_config(searcher, built_data_dir, tmp_path_factory.mktemp("openapi-fuzz"),
                                KB_RATE_LIMITS="false"))
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_the_shares_add_up_to_the_promised_number_of_cases():
    assert sum(round(TOTAL_CASES * share) for share in SHARE.values()) >= TOTAL_CASES
    assert set(SHARE) == set(OPERATIONS)


@pytest.mark.parametrize("path", OPERATIONS)
def test_generated_requests_never_fail_on_the_server(schema, path):
    operation = schema[path]["GET"]
    seen = {"cases": 0, "statuses": set()}

    @settings(max_examples=max(1, round(TOTAL_CASES * SHARE[path])), deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        response = case.call(base_url="http://localhost/api/v1")   # the document's server URL is relative
        seen["cases"] += 1
        seen["statuses"].add(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                 content_type_conformance, response_schema_conformance])

    run()
    assert seen["cases"] >= round(TOTAL_CASES * SHARE[path])
    assert max(seen["statuses"]) < 500, seen["statuses"]
    assert 200 in seen["statuses"] or path == "/articles/{id}", seen["statuses"]   # random ids are unknown: 404
