"""OAuth 2.0 Form Post Response Mode: discovery offers response_mode=form_post, so a code, an error and
the person's refusal reach the client as an HTML form the browser posts to the redirect URI, which
submits itself under the page's Content-Security-Policy. (Before, /authorize ignored the parameter and
redirected with the code in the query; express-openid-connect and mod_auth_openidc waited for a POST.)"""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import REDIRECT_A, csrf_token, query_of, register

ISSUER = "http://localhost"


class FormPostPage(HTMLParser):
    """The form (action, method, hidden fields), the buttons and the scripts of an HTML page."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self.scripts: list[dict] = []
        self.noscript_buttons = 0
        self._in_noscript = self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "method": attrs.get("method"), "fields": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["fields"].append((attrs.get("name"), attrs.get("value")))
        elif tag == "script":
            self.scripts.append({"attrs": attrs, "text": ""})
            self._in_script = True
        elif tag == "noscript":
            self._in_noscript = True
        elif tag == "button" and self._in_noscript:
            self.noscript_buttons += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        elif tag == "noscript":
            self._in_noscript = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1]["text"] += data


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in policy.split(";")) if d}


def assert_form_post(response, redirect_uri: str) -> dict:
    """The response is a self-submitting form to ``redirect_uri``; returns its fields."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Location" not in response.headers
    page = FormPostPage(response.get_data(as_text=True))
    assert len(page.forms) == 1
    form = page.forms[0]
    assert form["action"] == redirect_uri and form["method"] == "post"
    assert page.noscript_buttons == 1  # without scripts the person presses it
    directives = csp_directives(response)
    assert directives["form-action"] == ["'self'", "http://localhost:9001"]
    assert directives["frame-ancestors"] == ["'none'"]
    # The only script is inline, allowed by this response's nonce and nothing broader.
    (script,) = page.scripts
    nonce = script["attrs"]["nonce"]
    assert f"'nonce-{nonce}'" in directives["script-src"] and "'unsafe-inline'" not in directives["script-src"]
    assert "submit()" in script["text"]
    fields = dict(form["fields"])
    assert len(fields) == len(form["fields"]), "a field is posted twice"
    assert fields["iss"] == ISSUER  # RFC 9207, in every response mode
    return fields


def test_code_is_posted_to_the_redirect_uri(app, rp):
    params, verifier = rp.auth_params(response_mode="form_post")
    response = rp.browser.authorize_and_login(**params)
    fields = assert_form_post(response, REDIRECT_A)
    assert set(fields) == {"code", "state", "iss"} and fields["state"] == params["state"]
    tokens = rp.exchange(fields["code"], verifier)
    assert tokens.status_code == 200 and tokens.get_json()["id_token"]
    # A second page with a form_post response has its own nonce.
    again = rp.browser.authorize(**rp.auth_params(response_mode="form_post")[0])
    assert FormPostPage(again.get_data(as_text=True)).scripts[0]["attrs"]["nonce"] != \
        FormPostPage(response.get_data(as_text=True)).scripts[0]["attrs"]["nonce"]


def test_query_stays_the_default_and_can_be_asked_for(rp):
    for extra in ({}, {"response_mode": "query"}):
        params, _ = rp.auth_params(**extra)
        response = rp.browser.authorize_and_login(**params)
        assert response.status_code == 302
        query = query_of(response.headers["Location"])
        assert query["code"] and query["state"] == params["state"] and query["iss"] == ISSUER


def test_errors_are_posted_too(rp):
    params, _ = rp.auth_params(response_mode="form_post", code_challenge_method="plain")
    fields = assert_form_post(rp.browser.authorize(**params), REDIRECT_A)
    assert fields["error"] == "invalid_request" and fields["state"] == params["state"]
    assert "S256" in fields["error_description"]
    rp.get_code()  # signed in: max_age is read only when a session exists
    params, _ = rp.auth_params(response_mode="form_post", max_age="soon")
    fields = assert_form_post(rp.browser.authorize(**params), REDIRECT_A)
    assert fields["error"] == "invalid_request" and "max_age" in fields["error_description"]


def test_prompt_none_without_a_session_posts_login_required(app, browser, citizen):
    rp = register(app, browser)
    params, _ = rp.auth_params(response_mode="form_post", prompt="none")
    fields = assert_form_post(browser.authorize(**params), REDIRECT_A)
    assert fields["error"] == "login_required" and fields["state"] == params["state"]
    assert "code" not in fields


def test_cancelled_login_and_denied_consent_are_posted(app, browser, citizen):
    rp = register(app, browser, name="Third party", first_party=False)
    params, _ = rp.auth_params(response_mode="form_post")
    login = browser.authorize(**params)
    assert login.status_code == 302 and "/login" in login.headers["Location"]
    tx = query_of(login.headers["Location"])["tx"]
    page = browser.client.get(login.headers["Location"])
    cancelled = browser.client.post("/login/cancel", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                           "tx": tx})
    fields = assert_form_post(cancelled, REDIRECT_A)
    assert fields["error"] == "access_denied" and fields["state"] == params["state"]

    params, _ = rp.auth_params(response_mode="form_post")
    consent = browser.authorize_and_login(**params)
    assert consent.status_code == 302 and "/consent" in consent.headers["Location"]
    page = browser.client.get(consent.headers["Location"])
    assert csp_directives(page)["form-action"] == ["'self'", "http://localhost:9001"]
    denied = browser.client.post("/consent", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                   "tx": query_of(consent.headers["Location"])["tx"],
                                                   "decision": "deny"})
    fields = assert_form_post(denied, REDIRECT_A)
    assert fields["error"] == "access_denied" and fields["state"] == params["state"]


def test_unknown_response_mode_is_refused_in_the_query(rp):
    for mode in ("fragment", "jwt", "form_post "):
        params, _ = rp.auth_params(response_mode=mode)
        response = rp.browser.authorize(**params)
        assert response.status_code == 302, mode
        query = query_of(response.headers["Location"])
        assert query["error"] == "invalid_request" and "response_mode" in query["error_description"], query
        assert query["state"] == params["state"] and query["iss"] == ISSUER


def test_form_post_needs_a_uri_a_form_can_post_to():
    """Registration admits only http(s) redirect URIs; should another scheme ever be stored, a form
    cannot post to it (a javascript: action would run in this server's origin), so it is refused."""
    import pytest
    from authlib.oauth2.rfc6749 import InvalidRequestError
    from idp.protocols.oidc.response_modes import check_response_mode, response_mode
    with pytest.raises(InvalidRequestError, match="form_post"):
        check_response_mode({"response_mode": "form_post"}, "javascript:alert(1)//")
    assert response_mode({"response_mode": "form_post"}, "cn.gov.example.app:/cb") == "query"
    check_response_mode({"response_mode": "form_post"}, REDIRECT_A)


def test_an_unregistered_redirect_uri_gets_a_page_not_a_form(rp):
    params, _ = rp.auth_params(response_mode="form_post", redirect_uri="https://attacker.example/cb")
    response = rp.browser.authorize(**params)
    assert response.status_code == 400
    assert not FormPostPage(response.get_data(as_text=True)).forms
    assert csp_directives(response)["form-action"] == ["'self'"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=60))
def test_any_state_is_posted_back_unchanged(rp, state):
    """The form's fields are escaped: quotes, angle brackets, ampersands and any script reach the client
    as the exact value it sent, never as markup."""
    params, _ = rp.auth_params(response_mode="form_post", state=state)
    response = rp.browser.client.get("/authorize?" + urlencode(params))
    if response.status_code == 302 and "/login" in response.headers["Location"]:
        response = rp.browser.authorize_and_login(**params)
    fields = assert_form_post(response, REDIRECT_A)
    assert fields["state"] == state
