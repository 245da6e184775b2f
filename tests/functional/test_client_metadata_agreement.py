"""The admin API and Dynamic Client Registration check client metadata by one set of rules.

Both front doors once had validators of their own, and they drifted apart. Generated metadata (good and
bad redirect URIs, grant types, authentication methods, scopes, keys) is sent to both; they must accept
the same objects and refuse the others with the same RFC 7591 error code. The published OpenAPI schema
is the table the checks run on.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from admin_support import admin_token, bearer

GOOD_URIS = ["https://tax.example.gov.cn/cb", "http://127.0.0.1:8080/cb", "http://localhost/cb"]
BAD_URIS = ["http://tax.example.gov.cn/cb", "https://tax.example.gov.cn/cb#frag", "tax.example.gov.cn/cb",
            "javascript:alert(1)", "", "https://"]
SCOPES = ["openid", "profile", "email", "phone", "idcard", "entity", "offline_access", "unknown"]
PRIVATE_JWK = {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
               "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
               "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}
PUBLIC_JWK = {k: v for k, v in PRIVATE_JWK.items() if k != "d"}

metadata = st.fixed_dictionaries({"client_name": st.sampled_from(["税务门户", "Tax portal"])}, optional={
    "redirect_uris": st.lists(st.sampled_from(GOOD_URIS + BAD_URIS), max_size=3),
    "grant_types": st.lists(st.sampled_from(["authorization_code", "refresh_token", "client_credentials",
                                             "urn:ietf:params:oauth:grant-type:device_code",
                                             "implicit", "password"]), min_size=1, max_size=3, unique=True),
    "token_endpoint_auth_method": st.sampled_from(["client_secret_basic", "client_secret_post",
                                                   "private_key_jwt", "none", "client_secret_jwt"]),
    "scope": st.lists(st.sampled_from(SCOPES), min_size=1, max_size=3, unique=True).map(" ".join),
    "jwks": st.sampled_from([{"keys": [PUBLIC_JWK]}, {"keys": [PRIVATE_JWK]}, {"keys": []}]),
    "post_logout_redirect_uris": st.lists(st.sampled_from(GOOD_URIS + BAD_URIS), max_size=2),
    "id_token_signed_response_alg": st.sampled_from(["RS256", "ES256", "HS256"]),
})


def _outcome(response) -> tuple[int, str | None]:
    body = response.get_json() or {}
    return response.status_code, body.get("error")


@pytest.fixture
def doors(app):
    from idp.protocols.oidc.registration_tokens import issue_initial_token
    http = app.test_client()
    with app.app_context():
        initial = issue_initial_token(uses=1000)["token"]
    return http, bearer(admin_token(app, http)), bearer(initial)


@seed(20261204)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(meta=metadata)
def test_admin_api_and_registration_agree(doors, meta):
    http, admin, initial = doors
    if meta.get("token_endpoint_auth_method") != "private_key_jwt":
        meta.pop("jwks", None)  # Dynamic Registration keeps keys only for private_key_jwt clients
    by_admin = _outcome(http.post("/api/admin/clients", json=meta, headers=admin))
    by_registration = _outcome(http.post("/register", json=meta, headers=initial))
    assert by_admin[0] in (201, 400), by_admin
    assert by_admin == by_registration, meta


def test_the_published_schema_is_the_checked_table(app):
    from idp.admin.openapi import openapi_document
    from idp.clients import metadata
    with app.test_request_context():
        schema = openapi_document()["components"]["schemas"]["ClientMetadata"]
    assert schema == metadata.json_schema()
    assert set(schema["properties"]) == set(metadata.FIELDS)
