"""Local validation of the JWTs a provider issues: ID tokens, logout tokens, JWT access tokens.

Signatures are verified with joserfc against the cached JWKS; claim checks are spelled out one by one
so that a failure says exactly which check failed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterable
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError

from .errors import (
    AccessTokenError,
    IDTokenError,
    LogoutTokenError,
    TokenValidationError,
)
from .provider import JWKSCache

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TYPES = {"logout+jwt", "application/logout+jwt", "jwt"}
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}


def verify_signature(token: Any, keys: JWKSCache, algorithms: Iterable[str],
                     error_cls: type[TokenValidationError]) -> tuple[dict, dict]:
    """Return (header, claims) of a compact JWS whose signature checks out against the JWKS."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise error_cls("format", "not a compact JWS (three dot-separated parts)")
    try:
        obj = jws.extract_compact(token.encode("ascii"))
    except (JoseError, ValueError, UnicodeError) as exc:
        raise error_cls("format", f"could not parse the token: {exc}") from None
    header = obj.headers()
    alg = header.get("alg")
    allowed = list(algorithms)
    if alg not in allowed:
        raise error_cls("alg", f"signature algorithm {alg!r} is not accepted (accepted: {', '.join(allowed)})")
    key = keys.key_for(header.get("kid"), alg, error_cls)
    try:
        if not jws.validate_compact(obj, key, algorithms=[alg]):
            raise BadSignatureError()
    except JoseError:
        raise error_cls("signature", "the signature does not verify with the provider's key") from None
    try:
        claims = json.loads(obj.payload)
    except (TypeError, ValueError):
        raise error_cls("format", "the payload is not JSON") from None
    if not isinstance(claims, dict):
        raise error_cls("format", "the payload is not a JSON object")
    return header, claims


def check_issuer(claims: dict, issuer: str, error_cls: type[TokenValidationError]) -> None:
    if claims.get("iss") != issuer:
        raise error_cls("iss", f"issuer {claims.get('iss')!r} is not the expected {issuer!r}")


def audiences(claims: dict) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        return aud
    return []


def check_audience(claims: dict, audience: str, error_cls: type[TokenValidationError]) -> None:
    auds = audiences(claims)
    if audience not in auds:
        raise error_cls("aud", f"audience {claims.get('aud')!r} does not include {audience!r}")


def _number(claims: dict, name: str, error_cls: type[TokenValidationError], required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise error_cls(name, f"the {name} claim is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error_cls(name, f"the {name} claim is not a number")
    return float(value)


def check_times(claims: dict, leeway: int, error_cls: type[TokenValidationError], *, require_exp: bool = True,
                require_iat: bool = True, now: float | None = None) -> None:
    now = time.time() if now is None else now
    exp = _number(claims, "exp", error_cls, require_exp)
    if exp is not None and now > exp + leeway:
        raise error_cls("exp", f"the token expired {int(now - exp)} seconds ago")
    iat = _number(claims, "iat", error_cls, require_iat)
    if iat is not None and iat > now + leeway:
        raise error_cls("iat", "the token is issued in the future (check the clocks)")
    nbf = _number(claims, "nbf", error_cls, False)
    if nbf is not None and nbf > now + leeway:
        raise error_cls("nbf", "the token is not valid yet")


def left_hash(value: str, alg: str) -> str:
    """at_hash / c_hash / s_hash: base64url of the left half of the hash of `value` (OIDC Core 3.1.3.6)."""
    bits = alg[2:] if alg[:2] in ("RS", "ES", "PS") else "256"
    name = {"256": "sha256", "384": "sha384", "512": "sha512"}.get(bits, "sha256")
    digest = hashlib.new(name, value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def validate_id_token(token: Any, *, keys: JWKSCache, issuer: str, client_id: str, algorithms: Iterable[str],
                      leeway: int, nonce: str | None = None, access_token: str | None = None,
                      require_nonce: bool = True) -> dict:
    """Validate an ID token (OIDC Core 3.1.3.7) and return its claims."""
    header, claims = verify_signature(token, keys, algorithms, IDTokenError)
    check_issuer(claims, issuer, IDTokenError)
    check_audience(claims, client_id, IDTokenError)
    auds = audiences(claims)
    azp = claims.get("azp")
    if len(auds) > 1 and azp is None:
        raise IDTokenError("azp", "several audiences but no azp claim")
    if azp is not None and azp != client_id:
        raise IDTokenError("azp", f"authorized party {azp!r} is not this client {client_id!r}")
    check_times(claims, leeway, IDTokenError)
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise IDTokenError("sub", "the sub claim is missing")
    if require_nonce or nonce is not None:
        if claims.get("nonce") != nonce:
            raise IDTokenError("nonce", "the nonce does not match the one sent with this login")
    if access_token is not None and "at_hash" in claims:
        if claims["at_hash"] != left_hash(access_token, header["alg"]):
            raise IDTokenError("at_hash", "at_hash does not match the access token")
    return claims


def validate_logout_token(token: Any, *, keys: JWKSCache, issuer: str, client_id: str,
                          algorithms: Iterable[str], leeway: int, max_age: int) -> dict:
    """Validate a back-channel logout token (OIDC Back-Channel Logout 1.0, 2.6) and return its claims.

    Replay of `jti` is checked by the caller, which owns the replay cache.
    """
    header, claims = verify_signature(token, keys, algorithms, LogoutTokenError)
    typ = header.get("typ")
    if typ is not None and str(typ).lower() not in LOGOUT_TYPES:
        raise LogoutTokenError("typ", f"token type {typ!r} is not a logout token")
    check_issuer(claims, issuer, LogoutTokenError)
    check_audience(claims, client_id, LogoutTokenError)
    check_times(claims, leeway, LogoutTokenError, require_exp=False)
    if "exp" not in claims and time.time() - claims["iat"] > max_age + leeway:
        raise LogoutTokenError("iat", f"the token was issued more than {max_age} seconds ago")
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_LOGOUT_EVENT not in events:
        raise LogoutTokenError("events", f"the events claim does not contain {BACKCHANNEL_LOGOUT_EVENT}")
    if not isinstance(events[BACKCHANNEL_LOGOUT_EVENT], dict):
        raise LogoutTokenError("events", "the back-channel logout event value must be a JSON object")
    if "nonce" in claims:
        raise LogoutTokenError("nonce", "a logout token must not contain a nonce")
    if not claims.get("sid") and not claims.get("sub"):
        raise LogoutTokenError("sid", "the token names neither a sid nor a sub")
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise LogoutTokenError("jti", "the jti claim is missing")
    return claims


def validate_access_token(token: Any, *, keys: JWKSCache, issuer: str, audience: str, algorithms: Iterable[str],
                          leeway: int) -> dict:
    """Validate an RFC 9068 JWT access token and return its claims."""
    header, claims = verify_signature(token, keys, algorithms, AccessTokenError)
    typ = str(header.get("typ") or "").lower()
    if typ not in ACCESS_TOKEN_TYPES:
        raise AccessTokenError("typ", f"token type {header.get('typ')!r} is not at+jwt")
    check_issuer(claims, issuer, AccessTokenError)
    check_audience(claims, audience, AccessTokenError)
    check_times(claims, leeway, AccessTokenError, require_iat=False)
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise AccessTokenError("sub", "the sub claim is missing")
    return claims


def token_scopes(claims: dict) -> list[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    if isinstance(scope, list):
        return [s for s in scope if isinstance(s, str)]
    return []
