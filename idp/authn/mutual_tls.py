"""Certificate login by mutual TLS: the TLS terminator checked possession of the key during the
handshake and passed the certificate on; it is validated against the trust profiles here.

Reading the certificate from the request (which header, which proxy is believed) is the web
layer's business (``idp.web.client_certificate``); this authenticator gets its PEM text, or None.
"""
from __future__ import annotations

from dataclasses import dataclass

from .authenticator import LoginContext
from .certificate import METHOD, CertificateRefused, certificate_result, validate_certificate
from .result import AuthResult

NO_CERTIFICATE = "no_certificate"


@dataclass(frozen=True)
class ClientCertificate:
    pem: str | None  # None when the connection presented no certificate


class MutualTlsAuthenticator:
    method = METHOD

    def __init__(self, trust):
        self.trust = trust

    def authenticate(self, credentials: ClientCertificate, context: LoginContext) -> AuthResult:
        if not credentials.pem:
            raise CertificateRefused(NO_CERTIFICATE, "no client certificate was presented")
        return certificate_result(validate_certificate(self.trust, credentials.pem), context)
