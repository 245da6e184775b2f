"""WSGI integration for any framework (Django, Pyramid, Bottle, plain WSGI).

`OIDCMiddleware(app, rp)` answers the adapter's routes under `prefix`, puts the identity in
`environ["idp_rp.user"]` (claims dict or None) and `environ["idp_rp.session"]`, and can protect path
prefixes. `BearerTokenMiddleware(app, validator)` protects an API with JWT access tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
import json
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote

from .errors import RPError
from .relying_party import RelyingParty
from .resource_server import AccessTokenValidator
from .web import RPWeb, WebResponse, is_page_navigation, safe_local_path

_REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            405: "Method Not Allowed", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}
MAX_FORM_BYTES = 64 * 1024


def request_base(environ: dict) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    return f"{scheme}://{host}{quote(environ.get('SCRIPT_NAME', ''))}"


def request_cookie(environ: dict, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return None
    return jar[name].value if name in jar else None


def query_params(environ: dict) -> dict[str, str]:
    return dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))


def form_params(environ: dict) -> dict[str, str]:
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_FORM_BYTES)
    except ValueError:
        return {}
    body = environ["wsgi.input"].read(length).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def send(resp: WebResponse, start_response: Callable) -> list[bytes]:
    headers = list(resp.headers)
    if not any(k.lower() == "content-length" for k, _ in headers):
        headers.append(("Content-Length", str(len(resp.body))))
    start_response(f"{resp.status} {_REASONS.get(resp.status, 'Status')}", headers)
    return [resp.body]


class OIDCMiddleware:
    def __init__(self, app: Callable, rp: RelyingParty, *, prefix: str = "/oidc",
                 protect: Iterable[str] = (), required_acr: Iterable[str] | None = None):
        self.app = app
        self.rp = rp
        self.web = RPWeb(rp)
        self.prefix = prefix.rstrip("/")
        self.protect = tuple(protect)
        self.required_acr = tuple(required_acr) if required_acr is not None else rp.config.required_acr

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        cookie = request_cookie(environ, self.rp.config.session_cookie_name)
        base = request_base(environ)
        route = path[len(self.prefix):] if path.startswith(self.prefix + "/") else None
        if route == "/login":
            q = query_params(environ)
            acr = q.get("acr_values")
            return send(self.web.login(cookie, base, safe_local_path(q.get("next")),
                                       acr.split() if acr else None), start_response)
        if route == "/callback":
            return send(self.web.callback(cookie, query_params(environ)), start_response)
        if route == "/logout":
            return send(self.web.logout(cookie, base), start_response)
        if route == "/backchannel-logout":
            return send(self.web.backchannel_logout(environ.get("REQUEST_METHOD", "GET"), form_params(environ)),
                        start_response)

        session = self.web.load_session(cookie)
        here = path + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        if is_page_navigation(environ.get("REQUEST_METHOD", "GET"), environ.get("HTTP_ACCEPT"),
                              environ.get("HTTP_SEC_FETCH_MODE"), environ.get("HTTP_SEC_FETCH_DEST")):
            resp = self.web.silent_login(session, base, here)
            if resp is not None:
                return send(resp, start_response)
        if any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.protect):
            resp = self.web.require(session, cookie, base, here, self.required_acr)
            if resp is not None:
                return send(resp, start_response)
        authenticated = session is not None and session.is_authenticated
        environ["idp_rp.session"] = session if authenticated else None
        environ["idp_rp.user"] = {**session.userinfo, **session.claims} if authenticated else None
        return self.app(environ, start_response)


class BearerTokenMiddleware:
    """Refuses requests without a valid access token carrying `scopes`; the claims go to
    `environ["idp_rp.token_claims"]`."""

    def __init__(self, app: Callable, validator: AccessTokenValidator, scopes: Iterable[str] = ()):
        self.app = app
        self.validator = validator
        self.scopes = tuple(scopes)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        try:
            claims = self.validator.validate_authorization(environ.get("HTTP_AUTHORIZATION"), self.scopes)
        except RPError as exc:
            status, headers, body = self.validator.error_response(exc, self.scopes)
            return send(WebResponse(status, [("Content-Type", "application/json"), *headers.items()],
                                    json.dumps(body).encode()), start_response)
        environ["idp_rp.token_claims"] = claims
        return self.app(environ, start_response)
