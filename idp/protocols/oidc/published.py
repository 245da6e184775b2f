"""The published documents (JWKS and the discovery metadata) as pre-encoded bytes with an entity tag,
served ahead of Flask to the plain requests that make up nearly all of their traffic.

A relying party or resource server fetches these documents again and again; through Flask each fetch
costs routing, the request context, the before- and after-request hooks and a Response object, several
times the cost of the answer itself. ``published_documents`` answers a request here only when no
hook could change the answer: GET or HEAD, no query string, no body, no Authorization header, a valid
Host, and (for the JWKS) a key snapshot that needs no reload. Everything else — a query string,
another method, a snapshot due for reload from the database — goes through Flask as before, where
``jwks`` and ``discovery`` in views.py answer with the same bytes and headers.

The answer carries what the hooks would have added: the security headers, the request id and the
request metrics. Key rotation reaches every process through the database: each reloads its snapshot
at most ``keys.service.CACHE_SECONDS`` after a change, and the entity tag changes with the keys.
"""
from __future__ import annotations

import json
import secrets
import time

from ...keys.service import entity_tag
from ...observability.logs import HEADER as REQUEST_ID_HEADER
from ...observability.logs import _VALID as VALID_REQUEST_ID
from ...http.headers import SECURITY_HEADERS
from ...http.request_guard import valid_host
from .discovery import provider_metadata

JWKS_PATH = "/jwks.json"
DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
JWKS_TYPE = "application/jwk-set+json"
JWKS_CACHE = "public, max-age=60"
DISCOVERY_TYPE = "application/json"
DISCOVERY_CACHE = "public, max-age=300"
_ENVIRON_REQUEST_ID = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")


def discovery_document(core) -> tuple[bytes, str]:
    """The discovery metadata as served and its entity tag (it follows only from the settings)."""
    cached = getattr(core, "_discovery_document", None)
    if cached is None:
        body = json.dumps(provider_metadata(core.settings.issuer,
                                            registration=core.settings.registration_enabled)).encode()
        cached = core._discovery_document = (body, entity_tag(body))
    return cached


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (weak comparison, RFC 9110 13.1.2) or is ``*``."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(candidate.strip().removeprefix("W/") == etag for candidate in if_none_match.split(","))


def published_documents(wsgi_app, app):
    core = app.extensions["idp"]
    routes = {JWKS_PATH: (JWKS_TYPE, JWKS_CACHE)}
    routes.update({path: (DISCOVERY_TYPE, DISCOVERY_CACHE) for path in DISCOVERY_PATHS})
    # the metrics' children for (path, method, status), made once: labels() is most of a count's cost
    counters = {}

    def count(path: str, method: str, status: str, started: float) -> None:
        metrics = app.extensions.get("idp_metrics")
        if metrics is None:
            return
        key = (path, method, status)
        pair = counters.get(key)
        if pair is None:
            pair = counters[key] = (metrics.requests.labels(path, method, status),
                                    metrics.latency.labels(path, method))
        pair[0].inc()
        pair[1].observe(time.perf_counter() - started)

    def serve(environ, start_response):
        started = time.perf_counter()
        path = environ.get("PATH_INFO")
        route = routes.get(path)
        method = environ.get("REQUEST_METHOD")
        if (route is None or method not in ("GET", "HEAD") or environ.get("QUERY_STRING")
                or environ.get("HTTP_AUTHORIZATION") is not None or environ.get("CONTENT_LENGTH") not in (None, "", "0")
                or environ.get("HTTP_TRANSFER_ENCODING") is not None
                or ("HTTP_HOST" in environ and not valid_host(environ["HTTP_HOST"]))):
            return wsgi_app(environ, start_response)
        document = core.keys.fresh_jwks_document() if path == JWKS_PATH else discovery_document(core)
        if document is None:
            return wsgi_app(environ, start_response)
        body, etag = document
        content_type, cache_control = route
        request_id = environ.get(_ENVIRON_REQUEST_ID, "")
        if not VALID_REQUEST_ID.match(request_id):
            request_id = secrets.token_hex(16)
        headers = [("Cache-Control", cache_control), ("ETag", etag)]
        if matches(environ.get("HTTP_IF_NONE_MATCH"), etag):
            status, body = "304 NOT MODIFIED", b""
        else:
            status = "200 OK"
            headers += [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        headers += [*SECURITY_HEADERS, (REQUEST_ID_HEADER, request_id)]
        start_response(status, headers)
        count(path, method, status[:3], started)
        return [b"" if method == "HEAD" else body]

    return serve
