"""The REST admin API: client CRUD and key rotation with an admin-scoped client_credentials token,
RFC 7591 error codes for bad metadata, RFC 6750 errors for missing or insufficient tokens, audit."""
from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import select

from admin_support import (admin_token, bearer, client_credentials_token, create_admin, http,  # noqa: F401
                           register_api_client, token)
from helpers import REDIRECT_A, query_of

NEW_CLIENT = {"client_name": "税务门户", "redirect_uris": ["https://tax.example.gov.cn/oidc/callback"],
              "post_logout_redirect_uris": ["https://tax.example.gov.cn/"],
              "backchannel_logout_uri": "https://tax.example.gov.cn/oidc/backchannel-logout",
              "scope": "openid profile idcard"}


def audit_events(app, prefix="admin."):
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.event, AuditEvent.data).order_by(AuditEvent.id)).all()
        return [(event, data) for event, data in rows if event.startswith(prefix)]


def token_request(http, client_id, secret):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return http.post("/token", data={"grant_type": "client_credentials"},
                     headers={"Authorization": "Basic " + basic})


def test_client_lifecycle(app, http, token):
    created = http.post("/api/admin/clients", json=NEW_CLIENT, headers=bearer(token))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    client_id, secret = body["client_id"], body["client_secret"]
    assert created.headers["Location"] == f"/api/admin/clients/{client_id}"
    assert created.headers["Cache-Control"] == "no-store"
    assert body["redirect_uris"] == NEW_CLIENT["redirect_uris"]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic" and body["disabled"] is False

    fetched = http.get(f"/api/admin/clients/{client_id}", headers=bearer(token)).get_json()
    assert fetched["client_name"] == "税务门户" and "client_secret" not in fetched
    listed = http.get("/api/admin/clients", headers=bearer(token)).get_json()["clients"]
    assert client_id in [c["client_id"] for c in listed]

    patched = http.patch(f"/api/admin/clients/{client_id}", headers=bearer(token),
                         json={"client_name": "税务门户（新）", "redirect_uris": ["https://tax2.example.gov.cn/cb"],
                               "first_party": False})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["redirect_uris"] == ["https://tax2.example.gov.cn/cb"]
    assert patched.get_json()["first_party"] is False and "client_secret" not in patched.get_json()
    assert patched.get_json()["post_logout_redirect_uris"] == NEW_CLIENT["post_logout_redirect_uris"]

    reset = http.post(f"/api/admin/clients/{client_id}/reset-secret", headers=bearer(token))
    assert reset.status_code == 200
    new_secret = reset.get_json()["client_secret"]
    assert new_secret != secret
    with app.app_context():
        from idp.clients.service import get_client
        stored = get_client(client_id)
        assert not stored.check_client_secret(secret) and stored.check_client_secret(new_secret)

    deleted = http.delete(f"/api/admin/clients/{client_id}", headers=bearer(token))
    assert deleted.status_code == 204
    assert http.get(f"/api/admin/clients/{client_id}", headers=bearer(token)).status_code == 404

    events = [event for event, data in audit_events(app) if data.get("client_id") == client_id]
    assert events == ["admin.client.created", "admin.client.updated", "admin.client.secret_reset",
                      "admin.client.deleted"]
    assert all(data["actor"].startswith("client:") for _, data in audit_events(app))


def test_disabling_a_client_stops_its_logins_and_enabling_restores_them(app, http, token):
    client_id, secret = register_api_client(app, scopes=("profile",), name="Batch job")
    assert token_request(http, client_id, secret).status_code == 200
    assert http.patch(f"/api/admin/clients/{client_id}", json={"disabled": True},
                      headers=bearer(token)).get_json()["disabled"] is True
    assert token_request(http, client_id, secret).status_code == 401
    http.patch(f"/api/admin/clients/{client_id}", json={"disabled": False}, headers=bearer(token))
    assert token_request(http, client_id, secret).status_code == 200


def test_deleting_a_client_revokes_its_tokens(app, http, token):
    client_id, secret = register_api_client(app, name="Second automation")
    other = client_credentials_token(http, client_id, secret, "admin")
    assert http.get("/api/admin/keys", headers=bearer(other)).status_code == 200
    assert http.delete(f"/api/admin/clients/{client_id}", headers=bearer(token)).status_code == 204
    refused = http.get("/api/admin/keys", headers=bearer(other))
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_switching_to_secret_authentication_issues_a_secret_once(app, http, token):
    public = http.post("/api/admin/clients", headers=bearer(token),
                       json={"client_name": "App", "redirect_uris": ["http://127.0.0.1:8080/cb"],
                             "token_endpoint_auth_method": "none"}).get_json()
    assert "client_secret" not in public and public["token_endpoint_auth_method"] == "none"
    changed = http.patch(f"/api/admin/clients/{public['client_id']}", headers=bearer(token),
                         json={"token_endpoint_auth_method": "client_secret_post"}).get_json()
    assert changed["client_secret"]
    refused = http.post(f"/api/admin/clients/{public['client_id']}/reset-secret", headers=bearer(token))
    assert refused.status_code == 200
    back = http.patch(f"/api/admin/clients/{public['client_id']}", headers=bearer(token),
                      json={"token_endpoint_auth_method": "none"})
    no_secret = http.post(f"/api/admin/clients/{public['client_id']}/reset-secret", headers=bearer(token))
    assert back.status_code == 200 and no_secret.status_code == 400
    assert no_secret.get_json()["error"] == "invalid_client_metadata"


@pytest.mark.parametrize("changes, error, fragment", [
    ({"redirect_uris": ["http://portal.example.gov.cn/cb"]}, "invalid_redirect_uri", "https"),
    ({"redirect_uris": ["https://portal.example.gov.cn/cb#top"]}, "invalid_redirect_uri", "fragment"),
    ({"redirect_uris": ["/relative/cb"]}, "invalid_redirect_uri", "absolute"),
    ({"redirect_uris": ["https://[broken/cb"]}, "invalid_redirect_uri", "not a valid URI"),
    ({"redirect_uris": "https://portal.example.gov.cn/cb"}, "invalid_client_metadata", "array"),
    ({"post_logout_redirect_uris": ["ftp://portal.example.gov.cn/"]}, "invalid_client_metadata", "https"),
    ({"scope": "openid superpowers"}, "invalid_client_metadata", "superpowers"),
    ({"grant_types": ["implicit"]}, "invalid_client_metadata", "implicit"),
    ({"grant_types": ["password"]}, "invalid_client_metadata", "password"),
    ({"token_endpoint_auth_method": "client_secret_jwt"}, "invalid_client_metadata", "client_secret_jwt"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata", "jwks"),
    ({"token_endpoint_auth_method": "none", "scope": "openid admin"}, "invalid_client_metadata", "admin"),
    ({"id_token_signed_response_alg": "none"}, "invalid_client_metadata", "RS256"),
    ({"jwks": {"keys": [{"kty": "nonsense"}]}}, "invalid_client_metadata", "jwks"),
    ({"client_name": ""}, "invalid_client_metadata", "name"),
    ({"client_name": "a\x00b"}, "invalid_client_metadata", "control"),
    ({"first_party": "yes"}, "invalid_client_metadata", "first_party"),
    ({"client_id": "chosen"}, "invalid_client_metadata", "client_id"),
])
def test_bad_metadata_is_refused_with_rfc7591_codes(http, token, changes, error, fragment):
    response = http.post("/api/admin/clients", json={**NEW_CLIENT, **changes}, headers=bearer(token))
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"] == error and fragment in body["error_description"], body


def test_bad_bodies_are_refused(http, token):
    assert http.post("/api/admin/clients", data="not json", headers=bearer(token),
                     content_type="text/plain").get_json()["error"] == "invalid_client_metadata"
    assert http.post("/api/admin/clients", json=["a list"], headers=bearer(token)).status_code == 400
    assert http.post("/api/admin/clients", json={"redirect_uris": []}, headers=bearer(token)).get_json()[
        "error_description"] == "client_name is required"
    created = http.post("/api/admin/clients", json=NEW_CLIENT, headers=bearer(token)).get_json()
    patched = http.patch(f"/api/admin/clients/{created['client_id']}", json={"redirect_uris": ["http://x.cn/"]},
                         headers=bearer(token))
    assert patched.status_code == 400 and patched.get_json()["error"] == "invalid_redirect_uri"
    assert http.get(f"/api/admin/clients/{created['client_id']}",
                    headers=bearer(token)).get_json()["redirect_uris"] == NEW_CLIENT["redirect_uris"]
    assert http.patch("/api/admin/clients/nobody", json={}, headers=bearer(token)).status_code == 404


def test_keys_list_and_rotate(app, http, token):
    before = http.get("/api/admin/keys", headers=bearer(token)).get_json()["keys"]
    active_es = [k["kid"] for k in before if k["alg"] == "ES256" and k["status"] == "active"]
    assert active_es and all("d" not in k["public_jwk"] for k in before)
    rotated = http.post("/api/admin/keys/rotate", json={"alg": "ES256"}, headers=bearer(token))
    assert rotated.status_code == 201, rotated.get_json()
    new_kid = rotated.get_json()["keys"][0]["kid"]
    after = {k["kid"]: k for k in http.get("/api/admin/keys", headers=bearer(token)).get_json()["keys"]}
    assert after[new_kid]["alg"] == "ES256" and after[new_kid]["status"] in ("pending", "active")
    published = {k["kid"] for k in http.get("/jwks.json").get_json()["keys"]}
    assert {active_es[0], new_kid} <= published  # both published: what the old key signed still verifies
    assert any(event == "admin.keys.rotated" and new_kid in data["kids"] for event, data in audit_events(app))
    bad = http.post("/api/admin/keys/rotate", json={"alg": "HS256"}, headers=bearer(token))
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_request"
    # The token signed before the rotation still works: nobody is logged out by a rotation.
    assert http.get("/api/admin/clients", headers=bearer(token)).status_code == 200


def test_requests_without_a_valid_token_get_401(app, http, token):
    missing = http.get("/api/admin/clients")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith('Bearer realm="idp-admin"')
    assert "error=" not in missing.headers["WWW-Authenticate"]  # RFC 6750 3.1: no error without credentials
    for value in ("Bearer not-a-jwt", "Bearer " + token[:-4] + "AAAA", "Basic dXNlcjpwYXNz"):
        response = http.get("/api/admin/clients", headers={"Authorization": value})
        assert response.status_code == 401, value
    garbage = http.get("/api/admin/clients", headers={"Authorization": "Bearer not-a-jwt"})
    assert 'error="invalid_token"' in garbage.headers["WWW-Authenticate"]
    assert garbage.get_json()["error"] == "invalid_token"


def test_revoked_token_is_refused(app, http):
    client_id, secret = register_api_client(app, name="Revoker")
    token = client_credentials_token(http, client_id, secret, "admin")
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    assert http.post("/revoke", data={"token": token}, headers={"Authorization": "Basic " + basic}).status_code == 200
    response = http.get("/api/admin/clients", headers=bearer(token))
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_token_without_admin_scope_gets_403(app, http):
    client_id, secret = register_api_client(app, scopes=("profile",), name="Reporting")
    token = client_credentials_token(http, client_id, secret)
    response = http.get("/api/admin/clients", headers=bearer(token))
    assert response.status_code == 403 and response.get_json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert 'scope="admin"' in response.headers["WWW-Authenticate"]


def test_admin_scope_is_only_for_clients_registered_with_it(app, http):
    client_id, secret = register_api_client(app, scopes=("profile",), name="Curious")
    response = token_request(http, client_id, secret)
    asked = http.post("/token", data={"grant_type": "client_credentials", "scope": "admin"},
                      headers={"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()})
    granted = (asked.get_json() or {}).get("scope", "")
    assert response.status_code == 200 and "admin" not in granted.split()
    discovery = http.get("/.well-known/openid-configuration").get_json()
    assert "admin" not in discovery["scopes_supported"]


def _person_token(app, browser, username, password):
    from helpers import register
    rp = register(app, browser, name="Admin tool", redirect_uri=REDIRECT_A, scopes=("openid", "admin"))
    params, verifier = rp.auth_params()
    response = browser.authorize(**params)
    response = browser.login(response.headers["Location"], username=username, password=password)
    response = browser.client.get(response.headers["Location"])
    code = query_of(response.headers["Location"])["code"]
    tokens = rp.exchange(code, verifier).get_json()
    assert "admin" in tokens["scope"].split()
    return tokens["access_token"]


def test_person_bound_token_needs_an_administrator(app, browser, citizen):
    token = _person_token(app, browser, "11010519491231002X", "correct horse battery")
    response = browser.client.get("/api/admin/clients", headers=bearer(token))
    assert response.status_code == 403 and response.get_json()["error"] == "insufficient_scope"


def test_person_bound_token_of_an_administrator_is_accepted(app, browser):
    from admin_support import ADMIN_ID, ADMIN_PASSWORD
    admin = create_admin(app)
    token = _person_token(app, browser, ADMIN_ID, ADMIN_PASSWORD)
    created = browser.client.post("/api/admin/clients", json=NEW_CLIENT, headers=bearer(token))
    assert created.status_code == 201
    assert audit_events(app)[-1] == ("admin.client.created", {**audit_events(app)[-1][1], "actor": admin})


def test_openapi_document_describes_every_api_route(app, http, token):
    document = http.get("/api/admin/openapi.json", headers=bearer(token))
    assert document.status_code == 200
    spec = document.get_json()
    assert spec["openapi"].startswith("3.1") and spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/admin"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in spec["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], (method, path)


def test_retire_key(app, http, token):
    pending = http.post("/api/admin/keys/rotate", json={"alg": "RS256"}, headers=bearer(token)).get_json()["keys"][0]
    assert pending["status"] == "pending"
    retired = http.post(f"/api/admin/keys/{pending['kid']}/retire", headers=bearer(token))
    assert retired.status_code == 200, retired.get_json()
    assert retired.get_json()["status"] == "retired" and retired.get_json()["retired_at"]
    assert pending["kid"] not in {k["kid"] for k in http.get("/jwks.json").get_json()["keys"]}
    assert any(event == "admin.keys.retired" and data["kid"] == pending["kid"] for event, data in audit_events(app))

    keys = http.get("/api/admin/keys", headers=bearer(token)).get_json()["keys"]
    active = next(k["kid"] for k in keys if k["status"] == "active")
    refused = http.post(f"/api/admin/keys/{active}/retire", headers=bearer(token))
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "invalid_request",
                                  "error_description": f"key {active} is active; rotate first, then retire it"}
    missing = http.post("/api/admin/keys/no-such-kid/retire", headers=bearer(token))
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    # the token signed by the active key still works
    assert http.get("/api/admin/keys", headers=bearer(token)).status_code == 200


def test_certificates_report(tmp_path_factory, tmp_path):
    import datetime as dt
    from helpers import create_app, make_settings, upgrade
    from idp.pki import demo
    root = tmp_path_factory.mktemp("pki")
    demo.generate(root, root / "profiles")
    app = create_app(make_settings(tmp_path, trust_profiles_dir=str(root / "profiles")))
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    http = app.test_client()
    response = http.get("/api/admin/certificates", headers=bearer(admin_token(app, http)))
    assert response.status_code == 200
    report = response.get_json()
    assert report["profiles"] == ["demo-cn", "demo-gmt0015", "demo-serial"] and report["problems"] == []
    assert len(report["ca_certificates"]) == 4 and len(report["crls"]) == 4
    assert all(ca["state"] == "ok" and ca["days_left"] > 3000 for ca in report["ca_certificates"])
    assert all(crl["state"] == "ok" and 360 <= crl["days_left"] <= 365 for crl in report["crls"])
    not_after = dt.datetime.fromisoformat(report["ca_certificates"][0]["not_after"])
    assert (not_after - dt.datetime.now(dt.timezone.utc)).days == report["ca_certificates"][0]["days_left"]
