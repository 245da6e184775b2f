"""Refresh rotation, client credentials, revocation (RFC 7009), introspection (RFC 7662), userinfo."""
from __future__ import annotations

import pytest

from helpers import decode_jwt, register

pytestmark = pytest.mark.every_backend



def _refresh(rp, refresh_token):
    return rp.browser.client.post("/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                                  headers=rp.basic)


def _introspect(rp, token, **extra):
    return rp.browser.client.post("/introspect", data={"token": token, **extra}, headers=rp.basic).get_json()


def test_refresh_rotates_and_replay_revokes_the_family(rp):
    tokens, _ = rp.login_tokens()
    first = _refresh(rp, tokens["refresh_token"])
    assert first.status_code == 200
    rotated = first.get_json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["access_token"] != tokens["access_token"]
    replay = _refresh(rp, tokens["refresh_token"])
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    # the whole family is now revoked: the newest refresh and access tokens too
    assert _refresh(rp, rotated["refresh_token"]).status_code == 400
    assert _introspect(rp, rotated["access_token"]) == {"active": False}


def test_refresh_keeps_subject_and_acr(app, rp):
    tokens, _ = rp.login_tokens()
    rotated = _refresh(rp, tokens["refresh_token"]).get_json()
    old = decode_jwt(app, tokens["access_token"]).claims
    new = decode_jwt(app, rotated["access_token"]).claims
    assert new["sub"] == old["sub"] and new["acr"] == old["acr"]


def test_refresh_token_of_another_client_is_refused(app, browser, rp):
    tokens, _ = rp.login_tokens()
    other = register(app, browser, name="Other", redirect_uri="http://localhost:9002/cb")
    response = _refresh(other, tokens["refresh_token"])
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert _refresh(rp, tokens["refresh_token"]).status_code == 200  # not burned by the attempt


def test_refresh_scope_can_narrow_but_not_widen(rp):
    tokens, _ = rp.login_tokens(scope="openid profile")
    wider = rp.browser.client.post("/token", data={"grant_type": "refresh_token", "scope": "openid profile idcard",
                                                   "refresh_token": tokens["refresh_token"]}, headers=rp.basic)
    assert wider.status_code == 400 and wider.get_json()["error"] == "invalid_scope"


def test_client_credentials(app, browser):
    service = register(app, browser, name="Batch job", redirect_uri="http://localhost:9003/cb",
                       grant_types=["client_credentials"])
    response = browser.client.post("/token", data={"grant_type": "client_credentials", "scope": "profile"},
                                   headers=service.basic)
    assert response.status_code == 200, response.get_json()
    token = response.get_json()
    assert "refresh_token" not in token and "id_token" not in token
    claims = decode_jwt(app, token["access_token"]).claims
    assert claims["sub"] == service.client_id and claims["client_id"] == service.client_id


def test_client_credentials_refused_for_clients_without_the_grant(rp):
    response = rp.browser.client.post("/token", data={"grant_type": "client_credentials"}, headers=rp.basic)
    assert response.status_code == 400 and response.get_json()["error"] == "unauthorized_client"


def test_unsupported_grant_type(rp):
    response = rp.browser.client.post("/token", data={"grant_type": "password", "username": "x"}, headers=rp.basic)
    assert response.status_code == 400 and response.get_json()["error"] == "unsupported_grant_type"


def test_introspection_of_access_and_refresh_tokens(rp):
    tokens, _ = rp.login_tokens()
    access = _introspect(rp, tokens["access_token"])
    assert access["active"] is True and access["client_id"] == rp.client_id and access["scope"] == rp.scope
    assert access["sub"] and access["exp"] > access["iat"]
    refresh = _introspect(rp, tokens["refresh_token"], token_type_hint="refresh_token")
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    assert _introspect(rp, "not-a-token") == {"active": False}


def test_introspection_by_another_client_is_inactive(app, browser, rp):
    tokens, _ = rp.login_tokens()
    other = register(app, browser, name="Other", redirect_uri="http://localhost:9002/cb")
    assert _introspect(other, tokens["access_token"]) == {"active": False}


def test_introspection_requires_client_authentication(rp):
    tokens, _ = rp.login_tokens()
    response = rp.browser.client.post("/introspect", data={"token": tokens["access_token"]})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_revoking_access_token_stops_userinfo(rp):
    tokens, _ = rp.login_tokens()
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    assert rp.browser.client.get("/userinfo", headers=bearer).status_code == 200
    response = rp.browser.client.post("/revoke", data={"token": tokens["access_token"],
                                                       "token_type_hint": "access_token"}, headers=rp.basic)
    assert response.status_code == 200
    denied = rp.browser.client.get("/userinfo", headers=bearer)
    assert denied.status_code == 401 and "invalid_token" in denied.headers["WWW-Authenticate"]
    assert _refresh(rp, tokens["refresh_token"]).status_code == 200  # the refresh token is untouched


def test_revoking_refresh_token_revokes_its_grant(rp):
    tokens, _ = rp.login_tokens()
    assert rp.browser.client.post("/revoke", data={"token": tokens["refresh_token"]},
                                  headers=rp.basic).status_code == 200
    assert _refresh(rp, tokens["refresh_token"]).status_code == 400
    assert _introspect(rp, tokens["access_token"]) == {"active": False}


def test_revoking_unknown_token_is_not_an_error(rp):
    response = rp.browser.client.post("/revoke", data={"token": "unknown"}, headers=rp.basic)
    assert response.status_code == 200  # RFC 7009 2.2


def test_revocation_with_bad_hint_and_missing_token(rp):
    bad_hint = rp.browser.client.post("/revoke", data={"token": "x", "token_type_hint": "id_token"}, headers=rp.basic)
    assert bad_hint.status_code == 400 and bad_hint.get_json()["error"] == "unsupported_token_type"
    missing = rp.browser.client.post("/revoke", data={}, headers=rp.basic)
    assert missing.status_code == 400 and missing.get_json()["error"] == "invalid_request"


def test_userinfo_rejects_forged_and_missing_tokens(app, rp):
    tokens, _ = rp.login_tokens()
    forged = tokens["access_token"][:-4] + ("AAAA" if not tokens["access_token"].endswith("AAAA") else "BBBB")
    assert rp.browser.client.get("/userinfo", headers={"Authorization": "Bearer " + forged}).status_code == 401
    assert rp.browser.client.get("/userinfo").status_code == 401
    assert rp.browser.client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["id_token"]}
                                 ).status_code == 401


def test_tokens_and_codes_are_stored_only_as_hashes(app, rp):
    from idp.extensions import db
    from idp.protocols.oidc.models import AuthorizationCode, Token
    code, verifier, _ = rp.get_code()
    tokens = rp.exchange(code, verifier).get_json()
    with app.app_context():
        stored_codes = [c.code_hash for c in db.session.scalars(db.select(AuthorizationCode))]
        rows = db.session.scalars(db.select(Token)).all()
        dump = repr([(r.access_token_hash, r.refresh_token_hash) for r in rows]) + repr(stored_codes)
    assert code not in dump and tokens["access_token"] not in dump and tokens["refresh_token"] not in dump
    assert len(stored_codes) == 1 and len(stored_codes[0]) == 64


def test_token_endpoint_errors_are_json_and_not_cached(rp):
    response = rp.browser.client.post("/token", data={"grant_type": "authorization_code"}, headers=rp.basic)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"
    get = rp.browser.client.get("/token")
    assert get.status_code == 405 and get.get_json()["error"] == "invalid_request"
