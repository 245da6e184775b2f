"""The request's scheme behind a TLS-terminating proxy, believed only from IDP_TRUSTED_PROXIES.

Behind a proxy the server itself is reached over plain http; the proxy says how the client came in
with ``X-Forwarded-Proto``. Werkzeug's ``ProxyFix`` applies that header, but to every request; here it
is applied only when it names http or https and only to requests whose peer (``REMOTE_ADDR``) is one of the trusted proxies, the same rule
as for ``X-Forwarded-For`` and the client certificate header. Without a trusted proxy, a plain-http
request for a host other than loopback is refused by the protocol endpoints ("HTTPS required").
"""
from __future__ import annotations

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix


def _trusted(address: str | None, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in net for net in networks)


def trust_forwarded_proto(wsgi_app, networks):
    """``wsgi_app``, taking ``X-Forwarded-Proto`` from a peer in ``networks`` (unchanged when empty)."""
    if not networks:
        return wsgi_app
    fixed = ProxyFix(wsgi_app, x_for=0, x_proto=1, x_host=0, x_port=0, x_prefix=0)

    def app(environ, start_response):
        proto = environ.get("HTTP_X_FORWARDED_PROTO", "").rpartition(",")[2].strip().lower()
        if proto in ("http", "https") and _trusted(environ.get("REMOTE_ADDR"), networks):
            return fixed(environ, start_response)
        return wsgi_app(environ, start_response)

    return app
