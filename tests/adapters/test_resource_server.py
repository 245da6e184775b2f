"""RFC 9068 JWT access-token validation for department APIs."""

from __future__ import annotations

import time

import pytest
from flask import Flask, g

from idp_rp import AccessTokenError, AccessTokenValidator, InsufficientScopeError
from idp_rp.flask import require_bearer

API = "https://api.example.test"


@pytest.fixture
def validator(op):
    return AccessTokenValidator(op.issuer, API)


@pytest.fixture
def api(validator):
    app = Flask("api")

    @app.get("/records")
    @require_bearer(validator, "records.read")
    def records():
        return {"sub": g.access_token_claims["sub"]}

    return app.test_client()


def test_valid_token_is_accepted(op, validator):
    claims = validator.validate(op.access_token("c1", audience=API, scope="openid records.read"), ["records.read"])
    assert claims["sub"] == "user-42" and claims["client_id"] == "c1"


@pytest.mark.parametrize("make, check", [
    (lambda op: op.access_token("c1", audience=API, typ="JWT"), "typ"),
    (lambda op: op.sign({"iss": op.issuer, "aud": API, "sub": "u", "exp": int(time.time()) + 60}), "typ"),
    (lambda op: op.access_token("c1", audience="https://other.example"), "aud"),
    (lambda op: op.access_token("c1", audience=API, exp=int(time.time()) - 3600), "exp"),
    (lambda op: op.access_token("c1", audience=API, iss="https://evil.example"), "iss"),
], ids=["typ-jwt", "no-typ", "aud", "expired", "iss"])
def test_bad_tokens_are_refused(op, validator, make, check):
    with pytest.raises(AccessTokenError) as info:
        validator.validate(make(op))
    assert info.value.check == check


def test_missing_scope(op, validator):
    with pytest.raises(InsufficientScopeError):
        validator.validate(op.access_token("c1", audience=API, scope="openid"), ["records.read"])


def test_flask_decorator_answers_rfc6750(op, api):
    good = op.access_token("c1", audience=API, scope="records.read")
    resp = api.get("/records", headers={"Authorization": f"Bearer {good}"})
    assert resp.status_code == 200 and resp.get_json() == {"sub": "user-42"}

    resp = api.get("/records")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer scope="records.read"'

    expired = op.access_token("c1", audience=API, scope="records.read", exp=int(time.time()) - 3600)
    resp = api.get("/records", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token", error_description="')
    assert resp.get_json()["error"] == "invalid_token"

    wrong_typ = op.access_token("c1", audience=API, scope="records.read", typ="JWT")
    assert api.get("/records", headers={"Authorization": f"Bearer {wrong_typ}"}).status_code == 401

    narrow = op.access_token("c1", audience=API, scope="openid")
    resp = api.get("/records", headers={"Authorization": f"Bearer {narrow}"})
    assert resp.status_code == 403
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
    assert 'scope="records.read"' in resp.headers["WWW-Authenticate"]


def test_wsgi_middleware(op, validator):
    from werkzeug.test import Client

    from idp_rp.wsgi import BearerTokenMiddleware

    def inner(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["idp_rp.token_claims"]["sub"].encode()]

    client = Client(BearerTokenMiddleware(inner, validator, ["records.read"]))
    token = op.access_token("c1", audience=API, scope="records.read")
    resp = client.get("/", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_data() == b"user-42"
    resp = client.get("/", headers={"Authorization": "Basic abc"})
    assert resp.status_code == 401 and 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
