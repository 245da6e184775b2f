"""How an authorization response (a code, or an error) reaches the client: in the redirect URI's query
(RFC 6749 4.1.2), or posted by the browser as an HTML form (OAuth 2.0 Form Post Response Mode).

Every authorization response goes through ``authorization_response`` so that each carries ``state``
and ``iss`` (RFC 9207) and honours ``response_mode``, whether it is a code, a protocol error or the
person's refusal. Authlib's own form_post page (``create_response_mode_response``) submits itself from
an inline ``onload`` handler, which the Content-Security-Policy of every page forbids; this one uses a
script carrying the response's nonce, and a button for browsers without scripts.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from flask import current_app, render_template

from ...http.headers import allow_form_action

QUERY, FORM_POST = "query", "form_post"
SUPPORTED = (QUERY, FORM_POST)
_NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


def check_response_mode(data, redirect_uri: str) -> None:
    """Refuse a response_mode this server does not offer, or form_post to a URI a form cannot post to."""
    mode = data.get("response_mode")
    if mode in (None, "", QUERY):
        return
    if mode not in SUPPORTED:
        raise InvalidRequestError("response_mode must be query or form_post", redirect_uri=redirect_uri)
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        raise InvalidRequestError("response_mode form_post needs an http or https redirect_uri",
                                  redirect_uri=redirect_uri)


def response_mode(data, redirect_uri: str) -> str:
    """The mode a response to this request is sent in; query when the one asked for cannot be used (the
    error saying so is then sent in the query)."""
    if data.get("response_mode") == FORM_POST and urlsplit(redirect_uri).scheme in ("http", "https"):
        return FORM_POST
    return QUERY


def authorization_response(redirect_uri: str, params: list[tuple[str, str]], data) -> tuple[int, str, list]:
    """(status, body, headers) delivering ``params`` (with ``iss``) to the client in its response mode;
    ``data`` is the authorization request's parameters."""
    params = [*params, ("iss", current_app.extensions["idp"].settings.issuer)]
    if response_mode(data, redirect_uri) == FORM_POST:
        allow_form_action(redirect_uri)
        body = render_template("form_post.html", action=redirect_uri, params=params)
        return 200, body, [("Content-Type", "text/html; charset=utf-8"), *_NO_STORE]
    return 302, "", [("Location", add_params_to_uri(redirect_uri, params))]


def error_response(error: OAuth2Error, data) -> tuple[int, str, list]:
    """An error of an authorization request whose redirect URI is known to be the client's."""
    params = error.get_body()
    state = data.get("state")
    if state and not any(name == "state" for name, _ in params):
        params.append(("state", state))
    return authorization_response(error.redirect_uri, params, data)
