"""Which requests are protocol requests (answered in JSON, for programs) and which are browser requests
(answered with pages, for people): decided here, from the endpoint's blueprint, and nowhere else."""
from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

# Blueprints whose views answer programs (relying parties, resource servers, admin tools, monitors).
PROTOCOL_BLUEPRINTS = frozenset({"oidc", "device_api", "registration", "admin_api", "health", "metrics", "cas",
                                "saml"})
# ... except these, which a person's browser is sent to.
BROWSER_ENDPOINTS = frozenset({"oidc.authorize", "oidc.authorize_resume", "cas.login", "cas.login_resume",
                               "cas.logout",
                               "saml.sso", "saml.sso_resume", "saml.slo"})
# Browser endpoints that answer a program (a signing agent logging in with a certificate) in JSON when
# the request is JSON or asks for it, as their views do.
JSON_WHEN_ASKED = frozenset({"certificate.challenge", "certificate.challenge_login", "certificate.tls_login"})
# A path that matches no route: protocol when it is under a protocol prefix.
_PROTOCOL_PATHS = ("/token", "/device_authorization", "/revoke", "/introspect", "/userinfo", "/register", "/jwks.json", "/.well-known/",
                   "/healthz", "/readyz", "/metrics", "/api/")


def request_endpoint() -> str | None:
    """The endpoint of this request, also when routing failed only on the method (405)."""
    if request.url_rule is not None:
        return request.url_rule.endpoint
    failure = request.routing_exception
    if isinstance(failure, MethodNotAllowed) and failure.valid_methods:
        try:
            adapter = current_app.url_map.bind("localhost", path_info=request.path)
            return adapter.match(method=failure.valid_methods[0])[0]
        except HTTPException:
            return None
    return None


def is_protocol_request() -> bool:
    endpoint = request_endpoint()
    if endpoint is None:
        return request.path.startswith(_PROTOCOL_PATHS)
    if endpoint in BROWSER_ENDPOINTS:
        return False
    if endpoint in JSON_WHEN_ASKED:
        return asks_for_json()
    return endpoint.partition(".")[0] in PROTOCOL_BLUEPRINTS


def asks_for_json() -> bool:
    if request.is_json or request.args.get("format") == "json":
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
