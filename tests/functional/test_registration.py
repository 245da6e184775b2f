"""Dynamic Client Registration (RFC 7591) and management (RFC 7592), gated by initial access tokens."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import RP, make_settings

REDIRECT = "https://portal.example.gov.cn/oidc/callback"


def _initial_token(app, **kwargs) -> str:
    from idp.protocols.oidc.registration_tokens import issue_initial_token
    with app.app_context():
        return issue_initial_token(**kwargs)["token"]


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _register(client, token, **metadata):
    body = {"client_name": "Tax portal", "redirect_uris": [REDIRECT], **metadata}
    return client.post("/register", json=body, headers=_bearer(token))


@pytest.fixture
def http(app):
    return app.test_client()


def test_register_read_update_delete(app, http):
    token = _initial_token(app)
    created = _register(http, token, scope="openid profile email",
                        post_logout_redirect_uris=["https://portal.example.gov.cn/"])
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["client_secret"] and body["client_secret_expires_at"] == 0
    assert body["redirect_uris"] == [REDIRECT] and body["scope"] == "openid profile email"
    assert body["grant_types"] == ["authorization_code", "refresh_token"] and body["response_types"] == ["code"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    client_uri = body["registration_client_uri"]
    assert client_uri == f"http://localhost/register/{body['client_id']}"
    rat = body["registration_access_token"]

    with app.app_context():
        from idp.clients.service import get_client
        stored = get_client(body["client_id"])
        assert stored.first_party is False  # consent is asked
        assert stored.check_client_secret(body["client_secret"])
        assert stored.client_secret_hash != body["client_secret"]

    read = http.get(f"/register/{body['client_id']}", headers=_bearer(rat))
    assert read.status_code == 200
    assert read.get_json()["client_name"] == "Tax portal" and "client_secret" not in read.get_json()
    assert read.get_json()["registration_access_token"] == rat

    update = {"client_id": body["client_id"], "client_name": "Tax portal v2", "redirect_uris": [REDIRECT],
              "scope": "openid", "token_endpoint_auth_method": "client_secret_post"}
    updated = http.put(f"/register/{body['client_id']}", json=update, headers=_bearer(rat))
    assert updated.status_code == 200, updated.get_json()
    assert updated.get_json()["client_name"] == "Tax portal v2" and updated.get_json()["scope"] == "openid"
    assert updated.get_json()["post_logout_redirect_uris"] == []  # PUT replaces the whole registration
    with app.app_context():
        from idp.clients.service import get_client
        assert get_client(body["client_id"]).token_endpoint_auth_method == "client_secret_post"

    gone = http.delete(f"/register/{body['client_id']}", headers=_bearer(rat))
    assert gone.status_code == 204
    with app.app_context():
        from idp.clients.service import find_client
        assert find_client(body["client_id"]) is None
    again = http.get(f"/register/{body['client_id']}", headers=_bearer(rat))
    assert again.status_code == 401 and again.get_json()["error"] == "invalid_token"


def test_registered_client_logs_a_citizen_in_with_consent(app, browser, citizen):
    token = _initial_token(app)
    redirect_uri = "http://localhost:9005/cb"
    body = _register(browser.client, token, redirect_uris=[redirect_uri]).get_json()
    rp = RP(app, browser, body["client_id"], body["client_secret"], redirect_uri)
    params, _ = rp.auth_params()
    response = browser.authorize_and_login(**params)
    assert response.status_code == 302 and "/consent" in response.headers["Location"]


def test_public_client_gets_no_secret(app, http):
    body = _register(http, _initial_token(app), token_endpoint_auth_method="none",
                     redirect_uris=["http://127.0.0.1:8765/cb"]).get_json()
    assert "client_secret" not in body and body["token_endpoint_auth_method"] == "none"


def test_initial_token_is_required_and_used_up(app, http):
    missing = http.post("/register", json={"redirect_uris": [REDIRECT]})
    assert missing.status_code == 401 and missing.get_json()["error"] == "invalid_token"
    assert "Bearer" in missing.headers.get("WWW-Authenticate", "")
    wrong = _register(http, "not-a-token")
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_token"

    token = _initial_token(app, uses=2)
    assert _register(http, token).status_code == 201
    assert _register(http, token).status_code == 201
    spent = _register(http, token)
    assert spent.status_code == 401 and spent.get_json()["error"] == "invalid_token"


def test_bad_metadata_does_not_spend_the_token(app, http):
    token = _initial_token(app)
    assert _register(http, token, redirect_uris=["http://portal.example.gov.cn/cb"]).status_code == 400
    assert _register(http, token).status_code == 201


def test_expired_initial_token_is_refused(app, http):
    import time
    from idp.extensions import db
    from idp.protocols.oidc.registration_tokens import RegistrationToken
    token = _initial_token(app)
    with app.app_context():
        db.session.execute(db.update(RegistrationToken).values(expires_at=time.time() - 1))
        db.session.commit()
    assert _register(http, token).status_code == 401


@pytest.mark.parametrize("uris", [
    ["http://portal.example.gov.cn/cb"],          # http outside loopback
    ["https://portal.example.gov.cn/cb#frag"],    # fragment
    ["/relative/cb"],                             # not absolute
    ["portal.example.gov.cn/cb"],
    "https://portal.example.gov.cn/cb",           # not an array
    [42],
])
def test_bad_redirect_uris_are_invalid_redirect_uri(app, http, uris):
    response = _register(http, _initial_token(app), redirect_uris=uris)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_redirect_uri", response.get_json()
    assert response.get_json()["error_description"].isascii()


def test_loopback_http_redirect_is_accepted(app, http):
    assert _register(http, _initial_token(app), redirect_uris=["http://127.0.0.1:9000/cb"]).status_code == 201


@pytest.mark.parametrize("metadata", [
    {"grant_types": ["implicit"]},
    {"grant_types": ["password"]},
    {"response_types": ["token"]},
    {"token_endpoint_auth_method": "client_secret_jwt"},
    {"scope": "openid admin"},
    {"id_token_signed_response_alg": "HS256"},
    {"subject_type": "bogus"},
    {"token_endpoint_auth_method": "private_key_jwt"},  # without jwks
    {"jwks_uri": "https://portal.example.gov.cn/jwks"},
    {"post_logout_redirect_uris": ["http://portal.example.gov.cn/"]},
    {"backchannel_logout_uri": "https://portal.example.gov.cn/bc#x"},
    {"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]},
    {"client_name": ""},
    {"client_name": ["not", "a", "string"]},
    {"scope": 7},
    {"contacts": "not-a-list"},
    {"jwks": {"keys": "nope"}},
])
def test_bad_metadata_is_invalid_client_metadata(app, http, metadata):
    response = _register(http, _initial_token(app), **metadata)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"] == "invalid_client_metadata", response.get_json()


@pytest.mark.parametrize("body,content_type", [
    ("not json", "application/json"),
    ("[1, 2]", "application/json"),
    ("{}", "application/json"),
    ("client_name=x", "application/x-www-form-urlencoded"),
])
def test_bodies_that_are_not_metadata_objects(app, http, body, content_type):
    response = http.post("/register", data=body, headers={**_bearer(_initial_token(app)),
                                                          "Content-Type": content_type})
    assert response.status_code == 400
    assert response.get_json()["error"] in ("invalid_client_metadata", "invalid_request")


def test_pairwise_registration(app, http):
    body = _register(http, _initial_token(app), subject_type="pairwise").get_json()
    assert body["subject_type"] == "pairwise"
    two_hosts = _register(http, _initial_token(app), subject_type="pairwise",
                          redirect_uris=[REDIRECT, "https://other.example.gov.cn/cb"])
    assert two_hosts.get_json()["error"] == "invalid_client_metadata"


def test_registration_token_manages_only_its_own_client(app, http):
    first = _register(http, _initial_token(app)).get_json()
    second = _register(http, _initial_token(app)).get_json()
    crossed = http.get(f"/register/{second['client_id']}", headers=_bearer(first["registration_access_token"]))
    assert crossed.status_code in (400, 403) and crossed.get_json()["error"] == "access_denied"
    assert http.get(f"/register/{first['client_id']}").status_code == 401
    # an initial access token is not a registration access token
    assert http.get(f"/register/{first['client_id']}", headers=_bearer(_initial_token(app))).status_code == 401


def test_update_checks_rfc7592_rules(app, http):
    body = _register(http, _initial_token(app)).get_json()
    url, auth = f"/register/{body['client_id']}", _bearer(body["registration_access_token"])
    base = {"client_id": body["client_id"], "redirect_uris": [REDIRECT]}
    assert http.put(url, json={"redirect_uris": [REDIRECT]}, headers=auth).get_json()["error"] == "invalid_request"
    with_rat = {**base, "registration_access_token": "x"}
    assert http.put(url, json=with_rat, headers=auth).get_json()["error"] == "invalid_request"
    wrong_secret = {**base, "client_secret": "guess"}
    assert http.put(url, json=wrong_secret, headers=auth).get_json()["error"] == "invalid_request"
    bad_uri = {**base, "redirect_uris": ["https://x.example/cb#f"]}
    assert http.put(url, json=bad_uri, headers=auth).get_json()["error"] == "invalid_redirect_uri"
    not_json = http.put(url, data="x", headers={**auth, "Content-Type": "text/plain"})
    assert not_json.status_code == 400
    # switching a public client to a secret method hands out a secret once
    public = _register(http, _initial_token(app), token_endpoint_auth_method="none").get_json()
    switched = http.put(f"/register/{public['client_id']}", headers=_bearer(public["registration_access_token"]),
                        json={"client_id": public["client_id"], "redirect_uris": [REDIRECT]})
    assert switched.status_code == 200 and switched.get_json()["client_secret"]


def test_admin_registered_clients_cannot_be_managed_here(app, http):
    from idp.clients.service import register_client
    with app.app_context():
        admin_client = register_client(name="Admin made", redirect_uris=[REDIRECT]).client.client_id
    first = _register(http, _initial_token(app)).get_json()
    response = http.get(f"/register/{admin_client}", headers=_bearer(first["registration_access_token"]))
    assert response.status_code in (400, 403)


def test_discovery_advertises_the_registration_endpoint(http):
    metadata = http.get("/.well-known/openid-configuration").get_json()
    assert metadata["registration_endpoint"] == "http://localhost/register"


def test_registration_is_audited(app, http):
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    body = _register(http, _initial_token(app)).get_json()
    http.delete(f"/register/{body['client_id']}", headers=_bearer(body["registration_access_token"]))
    with app.app_context():
        events = [e.event for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
    assert events[-3:] == ["registration.initial_token_issued", "client.registered", "client.deleted"]


def test_cli_issues_initial_tokens(tmp_path):
    from idp import create_app
    from idp.migrate import upgrade
    settings = make_settings(tmp_path)
    upgrade(create_app(settings))
    env = {"IDP_SECRET_KEY": settings.secret_key, "IDP_DATABASE_URL": settings.database_url,
           "IDP_ISSUER": settings.issuer, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "idp.cli", "clients", "initial-token", "--expires-in", "600",
                           "--uses", "3", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    issued = json.loads(done.stdout)
    assert issued["uses_left"] == 3 and len(issued["token"]) >= 40
    app = create_app(settings)
    response = _register(app.test_client(), issued["token"])
    assert response.status_code == 201
    bad = subprocess.run([sys.executable, "-m", "idp.cli", "clients", "initial-token", "--expires-in", "5"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "error" in bad.stderr


def test_discovery_omits_registration_when_disabled(tmp_path):
    from helpers import make_settings
    from idp import create_app
    from idp.migrate import upgrade
    app = create_app(make_settings(tmp_path / "noreg", registration_enabled=False))
    upgrade(app)
    client = app.test_client()
    assert "registration_endpoint" not in client.get("/.well-known/openid-configuration").get_json()
    assert client.post("/register", json={"redirect_uris": ["https://a.example/cb"]}).status_code == 404
