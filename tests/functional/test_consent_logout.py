"""Consent for third-party clients and RP-initiated logout."""
from __future__ import annotations

import pytest

from helpers import csrf_token, query_of, register

pytestmark = pytest.mark.every_backend



def _third_party(app, browser):
    return register(app, browser, name="Third party app", redirect_uri="http://localhost:9005/cb",
                    scopes=("openid", "profile", "phone"), first_party=False)


def test_first_party_portal_needs_no_consent(rp):
    tokens, _ = rp.login_tokens()
    assert tokens["access_token"]


def test_third_party_consent_is_asked_once_and_remembered(app, browser, citizen):
    rp = _third_party(app, browser)
    params, verifier = rp.auth_params(scope="openid profile phone")
    response = browser.authorize_and_login(**params)
    assert "/consent" in response.headers["Location"]
    page = browser.client.get(response.headers["Location"] + "&lang=en")
    html = page.get_data(as_text=True)
    assert "Third party app" in html and "Your mobile phone number" in html and "Your name" in html
    assert "phone_number" not in html  # what the person gives, in their words, not claim names
    tx = query_of(response.headers["Location"])["tx"]
    allowed = browser.client.post("/consent", data={"csrf_token": csrf_token(html), "tx": tx, "decision": "allow"})
    done = browser.client.get(allowed.headers["Location"])
    assert "code" in query_of(done.headers["Location"])
    params, _ = rp.auth_params(scope="openid profile")
    again = browser.authorize(**params)
    assert "code" in query_of(again.headers["Location"]), "consent should be remembered"


def test_third_party_consent_denied_returns_access_denied(app, browser, citizen):
    rp = _third_party(app, browser)
    params, _ = rp.auth_params()
    response = browser.authorize_and_login(**params)
    page = browser.client.get(response.headers["Location"])
    tx = query_of(response.headers["Location"])["tx"]
    denied = browser.client.post("/consent", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                   "tx": tx, "decision": "deny"})
    query = query_of(denied.headers["Location"])
    assert denied.headers["Location"].startswith(rp.redirect_uri)
    assert query["error"] == "access_denied" and query["state"] == params["state"]


def test_prompt_none_without_consent_returns_consent_required(app, browser, citizen):
    rp = _third_party(app, browser)
    first = register(app, browser, name="Portal", redirect_uri="http://localhost:9006/cb")
    first.login_tokens()  # a session exists
    params, _ = rp.auth_params(prompt="none")
    assert query_of(browser.authorize(**params).headers["Location"])["error"] == "consent_required"


def test_rp_initiated_logout_with_registered_post_logout_uri(app, browser, citizen):
    rp = register(app, browser, name="Logout RP", post_logout_redirect_uris=["http://localhost:9001/bye"])
    tokens, _ = rp.login_tokens()
    response = browser.client.get("/logout", query_string={"id_token_hint": tokens["id_token"],
                                                           "post_logout_redirect_uri": "http://localhost:9001/bye",
                                                           "state": "xyz"})
    assert response.status_code == 302
    assert response.headers["Location"] == "http://localhost:9001/bye?state=xyz"
    params, _ = rp.auth_params(prompt="none")
    assert query_of(browser.authorize(**params).headers["Location"])["error"] == "login_required"


def test_unregistered_post_logout_uri_is_not_followed(app, browser, citizen):
    rp = register(app, browser, name="Logout RP", post_logout_redirect_uris=["http://localhost:9001/bye"])
    tokens, _ = rp.login_tokens()
    response = browser.client.get("/logout", query_string={"id_token_hint": tokens["id_token"],
                                                           "post_logout_redirect_uri": "https://evil.example/"})
    assert response.status_code == 200 and "Location" not in response.headers


def test_logout_without_id_token_hint_asks_for_confirmation(app, browser, rp):
    rp.login_tokens()
    page = browser.client.get("/logout?lang=en")
    assert page.status_code == 200 and "Log out?" in page.get_data(as_text=True)
    params, _ = rp.auth_params(prompt="none")
    assert "code" in query_of(browser.authorize(**params).headers["Location"]), "not logged out yet"
    browser.client.post("/logout/confirm", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    params, _ = rp.auth_params(prompt="none")
    assert query_of(browser.authorize(**params).headers["Location"])["error"] == "login_required"


def test_logout_with_forged_id_token_hint_is_refused(rp):
    tokens, _ = rp.login_tokens()
    forged = tokens["id_token"][:-6] + "AAAAAA"
    response = rp.browser.client.get("/logout", query_string={"id_token_hint": forged})
    assert response.status_code == 400


@pytest.mark.parametrize("aud", [7, 1.5, True, None, {"portal": 1}])
def test_logout_with_a_hint_whose_audience_is_no_string_gets_the_error_page(rp, aud):
    import base64
    import json

    def encode(part):
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    hint = ".".join([encode({"alg": "RS256", "kid": "k"}), encode({"iss": "http://localhost", "aud": aud}), "c2ln"])
    response = rp.browser.client.get("/logout", query_string={"id_token_hint": hint, "client_id": rp.client_id},
                                     headers={"Accept-Language": "en"})
    assert response.status_code == 400 and "text/html" in response.content_type
    assert "not issued by this login service" in response.get_data(as_text=True)
