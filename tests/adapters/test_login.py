"""Login through the Flask extension against the fake provider, and every way it must fail."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import CLIENT_ID, follow_to_provider, login, make_site, provider_redirect


def test_full_login_reaches_the_protected_page(op, site):
    app, ext = site
    client = app.test_client()
    url, params = follow_to_provider(client, "/profile")
    assert url.startswith(op.issuer + "/authorize?")
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"] and params["state"] != params["nonce"]
    assert params["redirect_uri"] == "http://localhost/oidc/callback"
    assert params["scope"] == "openid profile"

    resp = client.get(provider_redirect(url))
    assert resp.status_code == 302 and resp.headers["Location"] == "/profile"
    assert op.token_auth_methods == ["client_secret_basic"]

    profile = client.get("/profile").get_json()
    assert profile == {"sub": "user-42", "name": "张三", "acr": "urn:idp:loa:2", "amr": ["pwd"], "sid": op.sid}
    assert client.get("/").get_data(as_text=True) == "hello 张三"


def test_session_cookie_holds_only_a_signed_random_id(op, site):
    app, ext = site
    client = app.test_client()
    login(client)
    cookie = client.get_cookie(ext.rp.config.session_cookie_name)
    assert cookie is not None and cookie.http_only
    assert "user-42" not in cookie.value and "." in cookie.value
    session_id, _, mac = cookie.value.rpartition(".")
    client.set_cookie(ext.rp.config.session_cookie_name, session_id + "." + "0" * len(mac))
    assert client.get("/").get_data(as_text=True) == "anonymous"


def test_session_id_rotates_at_login(op, site):
    app, ext = site
    client = app.test_client()
    client.get("/profile")
    before = client.get_cookie(ext.rp.config.session_cookie_name).value
    login(client)
    after = client.get_cookie(ext.rp.config.session_cookie_name).value
    assert before != after
    assert ext.rp.session_from_cookie(before) is None


def test_state_mismatch_is_refused(op, site):
    app, _ = site
    client = app.test_client()
    url, _ = follow_to_provider(client, "/profile")
    callback = provider_redirect(url)
    query = parse_qs(urlsplit(callback).query)
    resp = client.get(f"/oidc/callback?code={query['code'][0]}&state=forged&iss={op.issuer}")
    assert resp.status_code == 400
    assert "state mismatch" in resp.get_data(as_text=True)
    assert client.get("/").get_data(as_text=True) == "anonymous"


def test_callback_in_another_browser_is_refused(op, site):
    app, _ = site
    url, _ = follow_to_provider(app.test_client(), "/profile")
    resp = app.test_client().get(provider_redirect(url))
    assert resp.status_code == 400 and "state" in resp.get_data(as_text=True)


def test_state_is_single_use(op, site):
    app, _ = site
    client = app.test_client()
    url, _ = follow_to_provider(client, "/profile")
    callback = provider_redirect(url)
    assert client.get(callback).status_code == 302
    assert client.get(callback).status_code == 400


def test_error_response_from_provider_is_reported(op, site):
    app, _ = site
    client = app.test_client()
    _, params = follow_to_provider(client, "/profile")
    resp = client.get(f"/oidc/callback?error=access_denied&error_description=user+cancelled"
                      f"&state={params['state']}&iss={op.issuer}")
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert "access_denied" in text and "user cancelled" in text
    assert "Traceback" not in text


def test_wrong_iss_response_parameter_is_refused(op, site):
    app, _ = site
    client = app.test_client()
    url, _ = follow_to_provider(client, "/profile")
    callback = provider_redirect(url).replace("iss=", "iss=https%3A%2F%2Fevil.example&x=")
    resp = client.get(callback)
    assert resp.status_code == 400 and "mix-up" in resp.get_data(as_text=True)


def test_missing_iss_parameter_refused_when_advertised(op, site):
    op.send_iss_param = False
    app, _ = site
    client = app.test_client()
    resp = login(client)
    assert resp.status_code == 400 and "RFC 9207" in resp.get_data(as_text=True)


def test_missing_iss_parameter_accepted_when_not_advertised(op, site):
    op.send_iss_param = False
    op.iss_param_supported = False
    app, _ = site
    assert login(app.test_client()).status_code == 302


@pytest.mark.parametrize(
    "setup, check",
    [
        (lambda op: op.id_token_overrides.update(nonce="other"), "nonce"),
        (lambda op: setattr(op, "tamper_id_token", True), "signature"),
        (lambda op: op.id_token_overrides.update(iss="https://evil.example"), "iss"),
        (lambda op: op.id_token_overrides.update(aud="other-client"), "aud"),
        (lambda op: op.id_token_overrides.update(aud=[CLIENT_ID, "other"]), "azp"),
        (lambda op: op.id_token_overrides.update(exp=int(time.time()) - 3600), "exp"),
        (lambda op: op.id_token_overrides.update(iat=int(time.time()) + 3600), "iat"),
        (lambda op: op.id_token_overrides.update(at_hash="AAAAAAAAAAAAAAAAAAAAAA"), "at_hash"),
    ],
    ids=["nonce", "tampered", "iss", "aud", "azp", "expired", "future-iat", "at_hash"],
)
def test_invalid_id_token_is_refused_naming_the_check(op, site, setup, check):
    setup(op)
    app, _ = site
    client = app.test_client()
    resp = login(client)
    assert resp.status_code == 400
    assert f"(check: {check})" in resp.get_data(as_text=True)
    assert client.get("/").get_data(as_text=True) == "anonymous"


def test_several_audiences_with_matching_azp_is_accepted(op, site):
    op.id_token_overrides.update(aud=[CLIENT_ID, "other"], azp=CLIENT_ID)
    app, _ = site
    client = app.test_client()
    assert login(client).status_code == 302
    assert client.get("/profile").status_code == 200


def test_token_endpoint_error_is_reported(op, site):
    app, _ = site
    op.clients[CLIENT_ID].secret = "rotated"
    resp = login(app.test_client())
    assert resp.status_code == 502
    assert "invalid_client" in resp.get_data(as_text=True)


def test_client_secret_post(op):
    app, _ = make_site(op, token_endpoint_auth_method="client_secret_post")
    assert login(app.test_client()).status_code == 302
    assert op.token_auth_methods == ["client_secret_post"]


def test_private_key_jwt(op):
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, private=True)
    op.clients[CLIENT_ID].public_jwk = key.as_dict(private=False)
    app, _ = make_site(op, client_secret=None, private_key=key.as_pem(private=True).decode())
    client = app.test_client()
    assert login(client).status_code == 302
    assert op.token_auth_methods == ["private_key_jwt"]
    assert client.get("/profile").status_code == 200


def test_return_to_is_local_only(op, site):
    app, _ = site
    client = app.test_client()
    resp = client.get("/oidc/login?next=//evil.example/x")
    resp = client.get(provider_redirect(resp.headers["Location"]))
    assert resp.headers["Location"] == "/"


def test_es256_id_tokens_are_accepted(op, site):
    op.rotate_to("ec-1", "EC")
    app, _ = site
    client = app.test_client()
    assert login(client).status_code == 302
    assert client.get("/profile").get_json()["sub"] == "user-42"
