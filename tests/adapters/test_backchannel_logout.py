"""OIDC Back-Channel Logout 1.0 at /oidc/backchannel-logout."""

from __future__ import annotations

import time

import pytest
from joserfc.jwk import RSAKey

from idp_rp import BACKCHANNEL_LOGOUT_EVENT

from .conftest import CLIENT_ID, login


@pytest.fixture
def logged_in(op, site):
    app, ext = site
    client = app.test_client()
    assert login(client).status_code == 302
    assert client.get("/profile").status_code == 200
    return app, ext, client


def post(app, token):
    return app.test_client().post("/oidc/backchannel-logout", data={"logout_token": token})


def test_valid_logout_token_ends_the_session(op, logged_in):
    app, ext, client = logged_in
    resp = post(app, op.logout_token(CLIENT_ID))
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert client.get("/").get_data(as_text=True) == "anonymous"
    assert client.get("/profile").status_code == 302


def test_logout_by_sub_only_ends_all_sessions_of_the_user(op, logged_in):
    app, ext, client = logged_in
    other = app.test_client()
    assert login(other).status_code == 302
    assert post(app, op.logout_token(CLIENT_ID, sid=None)).status_code == 200
    assert client.get("/").get_data(as_text=True) == "anonymous"
    assert other.get("/").get_data(as_text=True) == "anonymous"


def test_logout_for_another_sid_keeps_the_session(op, logged_in):
    app, ext, client = logged_in
    assert post(app, op.logout_token(CLIENT_ID, sid="some-other-sid")).status_code == 200
    assert client.get("/").get_data(as_text=True) == "hello 张三"


def test_typ_header_is_not_required(op, logged_in):
    app, ext, client = logged_in
    token = op.sign({"iss": op.issuer, "aud": CLIENT_ID, "iat": int(time.time()), "jti": "no-typ",
                     "sid": op.sid, "events": {BACKCHANNEL_LOGOUT_EVENT: {}}})
    assert post(app, token).status_code == 200
    assert client.get("/").get_data(as_text=True) == "anonymous"


def assert_refused(resp, check):
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"] == "invalid_request"
    assert f"(check: {check})" in body["error_description"]


def test_forged_signature_is_refused(op, logged_in):
    app, ext, client = logged_in
    forger = RSAKey.generate_key(2048, private=True)
    assert_refused(post(app, op.logout_token(CLIENT_ID, key=forger)), "signature")
    assert client.get("/").get_data(as_text=True) == "hello 张三"


def test_missing_events_is_refused(op, logged_in):
    app, ext, client = logged_in
    assert_refused(post(app, op.logout_token(CLIENT_ID, events=None)), "events")
    assert_refused(post(app, op.logout_token(CLIENT_ID, events={"other": {}})), "events")
    assert client.get("/").get_data(as_text=True) == "hello 张三"


def test_token_with_nonce_is_refused(op, logged_in):
    app, ext, client = logged_in
    assert_refused(post(app, op.logout_token(CLIENT_ID, nonce="n-1")), "nonce")
    assert client.get("/").get_data(as_text=True) == "hello 张三"


def test_replayed_jti_is_refused(op, logged_in):
    app, ext, client = logged_in
    token = op.logout_token(CLIENT_ID, jti="once")
    assert post(app, token).status_code == 200
    assert_refused(post(app, token), "jti")


def test_expired_token_is_refused(op, logged_in):
    app, ext, client = logged_in
    now = int(time.time())
    assert_refused(post(app, op.logout_token(CLIENT_ID, iat=now - 7200, exp=now - 3600)), "exp")
    assert client.get("/").get_data(as_text=True) == "hello 张三"


def test_old_token_without_exp_is_refused(op, logged_in):
    app, ext, client = logged_in
    assert_refused(post(app, op.logout_token(CLIENT_ID, iat=int(time.time()) - 7200, exp=None)), "iat")


@pytest.mark.parametrize("overrides, check", [
    ({"iss": "https://evil.example"}, "iss"),
    ({"aud": "another-client"}, "aud"),
    ({"sid": None, "sub": None}, "sid"),
    ({"jti": None}, "jti"),
])
def test_wrong_claims_are_refused(op, logged_in, overrides, check):
    app, ext, client = logged_in
    assert_refused(post(app, op.logout_token(CLIENT_ID, **overrides)), check)
    assert client.get("/").get_data(as_text=True) == "hello 张三"


def test_wrong_typ_is_refused(op, logged_in):
    app, ext, client = logged_in
    assert_refused(post(app, op.logout_token(CLIENT_ID, header={"typ": "at+jwt"})), "typ")


def test_id_token_is_not_a_logout_token(op, logged_in):
    app, ext, client = logged_in
    session = ext.rp.store.find_by_sub("user-42")[0]
    assert_refused(post(app, session.id_token), "events")


def test_missing_token_and_garbage(op, logged_in):
    app, ext, client = logged_in
    assert_refused(app.test_client().post("/oidc/backchannel-logout", data={}), "format")
    assert_refused(post(app, "not.a.jwt"), "format")
    assert app.test_client().get("/oidc/backchannel-logout").status_code == 405
