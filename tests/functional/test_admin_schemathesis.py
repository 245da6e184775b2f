"""Property-based tests of the admin API from its published OpenAPI document (schemathesis): for any
generated input, valid or not, no 5xx; status codes, content types and bodies as the document says.

Derandomized (the same examples each run) so that the assertions on which outcomes were reached cannot
depend on luck; ``IDP_FUZZ_EXAMPLES=N`` runs N random examples per operation instead."""
from __future__ import annotations

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from admin_support import admin_token, bearer

EXAMPLES = int(os.environ.get("IDP_FUZZ_EXAMPLES", "0") or 0)
MAX_EXAMPLES = EXAMPLES or 25
EXISTING_SERVICE = 1
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class _NoNetwork:
    """Stands for ``requests`` in the SAML registry: generated metadata URLs are never fetched."""
    RequestException = requests.RequestException

    @staticmethod
    def get(url, **kwargs):
        raise requests.ConnectionError(f"not fetched in this test: {url}")


@pytest.fixture
def schema_and_token(app, citizen, tmp_path, monkeypatch):
    from idp.clients.service import register_client
    from idp.protocols.cas.services import register_service
    from idp.protocols.saml import providers
    from test_saml import ServiceProvider
    monkeypatch.setattr(providers, "requests", _NoNetwork)
    sp = ServiceProvider(app, tmp_path, name="existing")
    with app.app_context():  # a client, a CAS service and a SAML SP at fixed ids, so that generated ids hit them
        register_client(name="Existing", redirect_uris=["https://e.example.gov.cn/cb"], client_id="existing")
        assert register_service(name="Existing", service_url="https://e.example.gov.cn/cas").id == EXISTING_SERVICE
        assert providers.register_provider(metadata_xml=sp.metadata).id == EXISTING_SERVICE
    token = admin_token(app, app.test_client())
    schema = schemathesis.openapi.from_wsgi("/api/admin/openapi.json", app, headers=bearer(token))
    return schema, token


def operations(schema):
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())
    return found


def test_document_lists_every_operation(schema_and_token):
    schema, _ = schema_and_token
    names = {f"{op.method.upper()} {op.path}" for op in operations(schema)}
    assert {"GET /api/admin/clients", "POST /api/admin/clients", "PATCH /api/admin/clients/{client_id}",
            "DELETE /api/admin/clients/{client_id}", "POST /api/admin/clients/{client_id}/reset-secret",
            "GET /api/admin/keys", "POST /api/admin/keys/rotate", "POST /api/admin/keys/{kid}/retire",
            "GET /api/admin/cas-services", "POST /api/admin/cas-services", "GET /api/admin/cas-services/{service_id}",
            "PATCH /api/admin/cas-services/{service_id}", "DELETE /api/admin/cas-services/{service_id}",
            "GET /api/admin/certificates", "GET /api/admin/saml-providers", "POST /api/admin/saml-providers",
            "GET /api/admin/saml-providers/{provider_id}", "PATCH /api/admin/saml-providers/{provider_id}",
            "DELETE /api/admin/saml-providers/{provider_id}"} <= names


def test_no_server_error_for_any_generated_input(schema_and_token):
    schema, token = schema_and_token
    statuses = {}
    for operation in operations(schema):
        seen = statuses.setdefault(f"{operation.method.upper()} {operation.path}", set())
        calls = []

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, derandomize=not EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            calls.append(case)
            if case.path_parameters and "client_id" in case.path_parameters and len(calls) % 2:
                case.path_parameters["client_id"] = "existing"  # half the cases reach a real client
            for name in ("service_id", "provider_id"):
                if case.path_parameters and name in case.path_parameters and len(calls) % 2:
                    case.path_parameters[name] = EXISTING_SERVICE
            response = case.call_and_validate(headers=bearer(token), checks=CHECKS)
            seen.add(response.status_code)

        run()
    # the generated inputs reached real outcomes, not only refusals
    assert 201 in statuses["POST /api/admin/clients"], statuses
    assert 400 in statuses["POST /api/admin/clients"], statuses
    assert 200 in statuses["GET /api/admin/clients"], statuses
    assert 201 in statuses["POST /api/admin/cas-services"], statuses
    assert 400 in statuses["POST /api/admin/cas-services"], statuses
    assert 204 in statuses["DELETE /api/admin/cas-services/{service_id}"], statuses
    assert 400 in statuses["POST /api/admin/saml-providers"], statuses
    assert 204 in statuses["DELETE /api/admin/saml-providers/{provider_id}"], statuses
