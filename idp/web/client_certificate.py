"""The TLS client certificate of a request, as the TLS terminator passed it on.

* Behind nginx (production): the certificate arrives URL-encoded in a header
  (``IDP_CLIENT_CERT_HEADER``, default ``X-SSL-Client-Cert``, nginx ``$ssl_client_escaped_cert``).
  It is believed only when the request comes from a trusted proxy address (``IDP_TRUSTED_PROXIES``);
  from anywhere else the header is ignored, since any client could send it.
* When the WSGI server did the handshake itself (Apache mod_ssl with ``SSLOptions +ExportCertData``
  under mod_wsgi), the PEM is in the ``SSL_CLIENT_CERT`` environ key, which no client can set.
"""
from __future__ import annotations

from urllib.parse import unquote

from flask import current_app, request

from ..errors import AuthnError
from ..pki import InputTooLarge
from ..http.client_ip import is_trusted_proxy

MAX_HEADER = 16 * 1024   # a URL-encoded certificate with long extensions stays well below this
ENVIRON_KEY = "SSL_CLIENT_CERT"


class UntrustedCertificateHeader(AuthnError):
    """A certificate header arrived from an address that is not a trusted proxy."""

    def __init__(self, header: str):
        super().__init__("untrusted_proxy", f"{header} header from an address that is not a trusted proxy")


def presented_certificate() -> str | None:
    """The client certificate (PEM text) or None. A header that cannot be believed or read is refused
    like a login: ``UntrustedCertificateHeader``, or ``AuthnError`` with the code ``too_large``."""
    name = current_app.extensions["idp"].settings.client_cert_header
    raw = request.headers.get(name, "")
    from_server = request.environ.get(ENVIRON_KEY) or None
    if raw.strip() and raw.strip() != "(null)":
        if not is_trusted_proxy(request.remote_addr):
            if from_server:
                return from_server
            raise UntrustedCertificateHeader(name)
        if len(raw) > MAX_HEADER:
            raise AuthnError(InputTooLarge.code, f"{name} header of {len(raw)} bytes")
        return unquote(raw)
    return from_server
