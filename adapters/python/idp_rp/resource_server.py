"""Resource-server helper: local validation of RFC 9068 JWT access tokens and RFC 6750 errors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import requests

from . import jwt_checks
from .errors import AccessTokenError, InsufficientScopeError
from .provider import JWKSCache, ProviderMetadata


class AccessTokenValidator:
    """Validates bearer JWT access tokens issued by `issuer` for the API identified by `audience`.

    The JWKS location comes from discovery unless `jwks_uri` is given.
    """

    def __init__(self, issuer: str, audience: str, *, jwks_uri: str | None = None,
                 algorithms: Iterable[str] = ("RS256", "ES256"), leeway: int = 60, realm: str | None = None,
                 http: requests.Session | None = None, http_timeout: float = 10.0, verify_tls: Any = True,
                 jwks_ttl: int = 3600, jwks_refetch_interval: int = 60):
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self.realm = realm
        self.http = http or requests.Session()
        self.provider = ProviderMetadata(issuer, self.http, timeout=http_timeout, verify=verify_tls)
        source = (lambda: jwks_uri) if jwks_uri else (lambda: self.provider["jwks_uri"])
        self.jwks = JWKSCache(source, self.http, ttl=jwks_ttl, refetch_interval=jwks_refetch_interval,
                              timeout=http_timeout, verify=verify_tls)

    def validate(self, token: str, scopes: Iterable[str] = ()) -> dict:
        """Claims of a valid token carrying every scope in `scopes`.

        Raises AccessTokenError (→ 401 invalid_token) or InsufficientScopeError (→ 403).
        """
        claims = jwt_checks.validate_access_token(token, keys=self.jwks, issuer=self.issuer, audience=self.audience,
                                                  algorithms=self.algorithms, leeway=self.leeway)
        required = list(scopes)
        granted = jwt_checks.token_scopes(claims)
        if not set(required) <= set(granted):
            raise InsufficientScopeError(required, granted)
        return claims

    def validate_authorization(self, authorization: str | None, scopes: Iterable[str] = ()) -> dict:
        """Validate the value of an `Authorization` request header."""
        return self.validate(bearer_token(authorization), scopes)

    def error_response(self, exc: Exception, scopes: Iterable[str] = ()) -> tuple[int, dict[str, str], dict]:
        """(status, headers, JSON body) for a failed validation, per RFC 6750 section 3."""
        return bearer_error_response(exc, scopes, realm=self.realm)


class MissingTokenError(AccessTokenError):
    """No bearer token in the request (RFC 6750 3.1: answer without an error code)."""

    def __init__(self) -> None:
        super().__init__("format", "the request carries no bearer token")


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise MissingTokenError()
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AccessTokenError("format", "the Authorization header is not a Bearer token")
    return value.strip()


def www_authenticate(error: str | None = None, description: str | None = None, *, realm: str | None = None,
                     scope: Iterable[str] = ()) -> str:
    parts = []
    if realm:
        parts.append(f'realm="{_quote(realm)}"')
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{_quote(description)}"')
    scope = list(scope)
    if scope:
        parts.append(f'scope="{" ".join(scope)}"')
    return "Bearer" + (" " + ", ".join(parts) if parts else "")


def bearer_error_response(exc: Exception, scopes: Iterable[str] = (), *, realm: str | None = None
                          ) -> tuple[int, dict[str, str], dict]:
    scopes = list(scopes)
    if isinstance(exc, MissingTokenError):
        return 401, {"WWW-Authenticate": www_authenticate(realm=realm, scope=scopes)}, {
            "error": "invalid_token", "error_description": str(exc)}
    if isinstance(exc, InsufficientScopeError):
        header = www_authenticate("insufficient_scope", str(exc), realm=realm, scope=scopes)
        return 403, {"WWW-Authenticate": header}, {"error": "insufficient_scope", "error_description": str(exc)}
    if isinstance(exc, AccessTokenError):
        header = www_authenticate("invalid_token", str(exc), realm=realm)
        return 401, {"WWW-Authenticate": header}, {"error": "invalid_token", "error_description": str(exc)}
    return 503, {"Retry-After": "30"}, {
        "error": "temporarily_unavailable", "error_description": str(exc)}


def _quote(text: str) -> str:
    # RFC 6750: error_description is restricted to printable ASCII without " and \.
    return "".join(c for c in text if 0x20 <= ord(c) <= 0x7E and c not in '"\\')


def bearer_claims_from_environ(environ: Mapping[str, Any], validator: AccessTokenValidator,
                               scopes: Iterable[str] = ()) -> dict:
    return validator.validate_authorization(environ.get("HTTP_AUTHORIZATION"), scopes)
