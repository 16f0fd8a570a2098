"""Property-based run of the API against its own OpenAPI spec (schemathesis): no 5xx, responses conform."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from blockanalytix_assets.api.app import create_app
from blockanalytix_tests.api.dataset import build_dataset


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    return create_app(build_dataset(str(tmp_path_factory.mktemp("schemathesis")), txs_per_range=60).root)


# FastAPI emits OpenAPI 3.1, which schemathesis 3.x supports behind this switch.
schemathesis.experimental.OPEN_API_3_1.enable()
schema = schemathesis.from_pytest_fixture("api_app_schema")


@pytest.fixture(scope="module")
def api_app_schema(api_app):
    return schemathesis.from_asgi("/openapi.json", api_app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi(case):
    response = case.call()
    case.validate_response(
        response,
        checks=(
            schemathesis.checks.not_a_server_error,
            schemathesis.checks.response_schema_conformance,
            schemathesis.checks.status_code_conformance,
            schemathesis.checks.content_type_conformance,
        ),
    )


def test_openapi_documents_400_and_404_as_json_errors(api_app):
    spec = api_app.openapi()
    op = spec["paths"]["/addresses/{address}"]["get"]
    assert set(op["responses"]) == {"200", "400", "404"}
    ref = op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ErrorBody")
    assert "HTTPValidationError" not in spec["components"]["schemas"]
