"""The page a person sees when a portal's authorization or logout request cannot be answered to the
portal: for any request, a message chosen by what was wrong with it, never an exception (a 500)."""
from __future__ import annotations

import base64
import json

import pytest
from authlib.oauth2.rfc6749 import InvalidRequestError
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import create_app, make_settings, upgrade
from idp.protocols.oidc.error_pages import (AUTHORIZE_SITUATIONS, LOGOUT_SITUATIONS, SINGLE_PARAMETERS,
                                            authorize_error_page, authorize_situation, logout_error_page)

REDIRECT = "https://portal.example.gov.cn/cb"
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
texts = st.text(max_size=40)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from idp.clients.service import register_client
    from idp.extensions import db
    app = create_app(make_settings(tmp_path_factory.mktemp("pages")))
    upgrade(app)
    with app.app_context():
        app.client_id = register_client(name="门户", redirect_uris=[REDIRECT], scopes=["openid"]).client.client_id
    yield app
    with app.app_context():
        db.engine.dispose()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(payload) -> str:
    """A compact JWS with this payload and a signature nobody made (as a forged id_token_hint is)."""
    return ".".join([_b64(json.dumps({"alg": "RS256", "kid": "k"}).encode()), _b64(json.dumps(payload).encode()),
                     _b64(b"not a signature")])


@settings(max_examples=200, deadline=None)
@given(payload=st.one_of(json_values, st.builds(lambda aud, rest: {**rest, "aud": aud}, json_values,
                                                 st.dictionaries(st.text(max_size=8), json_values, max_size=2))),
       client_id=st.one_of(st.none(), texts), raw=st.one_of(st.none(), texts))
def test_any_id_token_hint_gets_a_logout_page(app, payload, client_id, raw):
    hint = raw if raw is not None else _unsigned(payload)
    params = {"id_token_hint": hint, **({"client_id": client_id} if client_id is not None else {})}
    with app.test_request_context("/logout"):
        page = logout_error_page(InvalidRequestError(), params)
        messages = {str(message) for message in LOGOUT_SITUATIONS.values()}
    assert page["error"] == "invalid_request" and page["description"] in messages


def test_a_hint_for_another_client_says_so(app):
    hint = _unsigned({"iss": "http://localhost", "aud": ["portal-b"], "sub": "x"})
    with app.test_request_context("/logout"):
        mismatch = logout_error_page(InvalidRequestError(), {"id_token_hint": hint, "client_id": "portal-a"})
        same = logout_error_page(InvalidRequestError(), {"id_token_hint": hint, "client_id": "portal-b"})
        numeric = logout_error_page(InvalidRequestError(), {"id_token_hint": _unsigned({"aud": 7}),
                                                            "client_id": "portal-a"})
        assert mismatch["description"] == str(LOGOUT_SITUATIONS["client_mismatch"])
        assert same["description"] == numeric["description"] == str(LOGOUT_SITUATIONS["bad_id_token_hint"])


@settings(max_examples=150, deadline=None)
@given(code=st.sampled_from([*AUTHORIZE_SITUATIONS, "invalid_client", "server_error", ""]),
       params=st.dictionaries(st.sampled_from([*SINGLE_PARAMETERS, "nonce", "prompt"]),
                              st.lists(texts, min_size=1, max_size=3), max_size=5),
       known_client=st.booleans())
def test_any_refused_authorization_gets_a_page(app, code, params, known_client):
    if known_client:
        params = {**params, "client_id": [app.client_id]}
    with app.test_request_context("/authorize"):
        situation = authorize_situation(code, params)
        page = authorize_error_page(code, params)
        assert situation in AUTHORIZE_SITUATIONS and page["description"] == str(AUTHORIZE_SITUATIONS[situation])
    if code == "invalid_request" and any(len(v) > 1 for k, v in params.items() if k in SINGLE_PARAMETERS):
        assert situation == "repeated_parameter"


@pytest.mark.parametrize("code, params, situation", [
    ("invalid_client", {}, "missing_client_id"),
    ("invalid_client", {"client_id": "nobody"}, "unknown_client"),
    ("invalid_request", {"client_id": "{client}", "redirect_uri": "https://elsewhere.example/cb"},
     "unregistered_redirect_uri"),
    ("invalid_request", {"client_id": "{client}", "redirect_uri": REDIRECT}, "invalid_request"),
    ("invalid_request", {"client_id": "{client}", "scope": ["openid", "profile"]}, "repeated_parameter"),
    ("access_denied", {}, "other"),
])
def test_the_situation_names_what_was_wrong(app, code, params, situation):
    params = {k: (v.replace("{client}", app.client_id) if isinstance(v, str) else v) for k, v in params.items()}
    with app.test_request_context("/authorize"):
        assert authorize_situation(code, params) == situation
