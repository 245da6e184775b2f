"""How an authorization response reaches the client: in the redirect URI's query or as a posted form.

Whatever the values (a client's ``state`` is opaque to the server), the client receives exactly the
parameters it was sent, plus ``iss``, and its redirect URI's own query stays as it was (RFC 6749 3.1.2).
Control characters are left out of the generated values: the request guard refuses them in every
request parameter before an authorization request is read (tests/functional/test_request_guard.py).
"""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError, InvalidScopeError
from flask import g
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import ISSUER, create_app, make_settings
from idp.protocols.oidc.response_modes import (FORM_POST, QUERY, authorization_response, check_response_mode,
                                               error_response, response_mode)

HTTPS, LOOPBACK = "https://portal.example.gov.cn/oidc/callback", "http://127.0.0.1:8080/cb"

values = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60)
pairs = st.lists(st.tuples(values.filter(bool), values), max_size=4)
redirect_uris = st.builds(lambda base, query: base + ("?" + urlencode(query) if query else ""),
                          st.sampled_from([HTTPS, LOOPBACK, "https://[::1]/cb", "https://a.example:8443/p/a%20th"]),
                          pairs)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(make_settings(tmp_path_factory.mktemp("modes")))


class FormReader(HTMLParser):
    """The forms of a page: (method, action, [(name, value), ...]) as a browser would submit them."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs.get("method"), attrs.get("action"), []))
        elif tag == "input" and self.forms and "name" in attrs:
            self.forms[-1][2].append((attrs["name"], attrs.get("value", "")))


def delivered(app, redirect_uri, params, data):
    """(status, headers, [(name, value), ...] the client receives, its redirect URI's own query pairs)."""
    with app.test_request_context("/authorize"):
        status, body, headers = authorization_response(redirect_uri, params, data)
        targets = list(g.get("csp_form_targets") or ())
    headers = dict(headers)
    if status == 302:
        location = urlsplit(headers["Location"])
        assert location._replace(query="").geturl() == urlsplit(redirect_uri)._replace(query="").geturl()
        return status, headers, parse_qsl(location.query, keep_blank_values=True), targets
    reader = FormReader()
    reader.feed(body)
    [(method, action, fields)] = reader.forms
    assert method == "post" and action == redirect_uri
    return status, headers, fields, targets


@settings(max_examples=150, deadline=None)
@given(redirect_uri=redirect_uris, code=values, state=values)
def test_query_mode_delivers_the_parameters_and_keeps_the_clients_own_query(app, redirect_uri, code, state):
    params = [("code", code), ("state", state)]
    for data in ({}, {"response_mode": QUERY}, {"response_mode": ""}):
        status, headers, received, targets = delivered(app, redirect_uri, params, data)
        own = parse_qsl(urlsplit(redirect_uri).query, keep_blank_values=True)
        assert status == 302 and received == [*own, *params, ("iss", ISSUER)]
        assert targets == [], "a redirect needs no form-action exception"


@settings(max_examples=150, deadline=None)
@given(redirect_uri=redirect_uris, code=values, state=values)
def test_form_post_posts_exactly_the_parameters_to_the_redirect_uri(app, redirect_uri, code, state):
    params = [("code", code), ("state", state)]
    status, headers, received, targets = delivered(app, redirect_uri, params, {"response_mode": FORM_POST})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-store"
    assert received == [*params, ("iss", ISSUER)]
    origin = urlsplit(redirect_uri)
    assert targets == [f"{origin.scheme}://{origin.netloc}"], "the page's CSP must let the form go to the client"


@given(mode=st.one_of(st.none(), st.sampled_from(["", QUERY, FORM_POST, "fragment", "jwt", "FORM_POST"]), values))
def test_only_query_and_form_post_are_offered(mode):
    data = {} if mode is None else {"response_mode": mode}
    if mode in (None, "", QUERY, FORM_POST):
        check_response_mode(data, HTTPS)
        assert response_mode(data, HTTPS) == (FORM_POST if mode == FORM_POST else QUERY)
    else:
        with pytest.raises(InvalidRequestError) as refused:
            check_response_mode(data, HTTPS)
        assert refused.value.redirect_uri == HTTPS, "the error goes back to the client"
        assert response_mode(data, HTTPS) == QUERY, "and is sent in the query"


@pytest.mark.parametrize("redirect_uri", ["com.example.app:/oauth/cb", "urn:ietf:wg:oauth:2.0:oob"])
def test_form_post_to_a_uri_no_form_can_post_to_is_refused_in_the_query(app, redirect_uri):
    data = {"response_mode": FORM_POST, "state": "s1"}
    with pytest.raises(InvalidRequestError) as refused:
        check_response_mode(data, redirect_uri)
    assert response_mode(data, redirect_uri) == QUERY
    with app.test_request_context("/authorize"):
        status, _, headers = error_response(refused.value, data)
    location = dict(headers)["Location"]
    assert status == 302 and location.startswith(redirect_uri + "?")
    assert dict(parse_qsl(urlsplit(location).query))["error"] == "invalid_request"


@settings(max_examples=80, deadline=None)
@given(state=values, error_state=st.one_of(st.none(), values.filter(bool)), form_post=st.booleans(),
       error=st.sampled_from([AccessDeniedError, InvalidScopeError, InvalidRequestError]))
def test_errors_carry_the_requests_state_once_and_iss(app, state, error_state, form_post, error):
    data = {"state": state, **({"response_mode": FORM_POST} if form_post else {})}
    exc = error(redirect_uri=HTTPS, state=error_state)
    with app.test_request_context("/authorize"):
        status, body, headers = error_response(exc, data)
    if form_post:
        reader = FormReader()
        reader.feed(body)
        received = reader.forms[0][2]
    else:
        received = parse_qsl(urlsplit(dict(headers)["Location"]).query, keep_blank_values=True)
    names = [name for name, _ in received]
    assert dict(received)["error"] == exc.error and names.count("iss") == 1 and dict(received)["iss"] == ISSUER
    expected_state = error_state or state
    if expected_state:
        assert names.count("state") == 1 and dict(received)["state"] == expected_state
    else:
        assert "state" not in names, "no state was sent, none comes back"
