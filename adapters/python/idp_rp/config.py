"""Relying-party settings: one frozen object, every option documented with its default."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import ConfigurationError

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")


@dataclass(frozen=True)
class RPConfig:
    #: Issuer URL of the identity provider, exactly as in its discovery document.
    issuer: str
    #: Client identifier registered at the provider.
    client_id: str
    #: Client secret (for client_secret_basic / client_secret_post).
    client_secret: str | None = None
    #: Private key for private_key_jwt: PEM text, a path to a PEM file, or a JWK dict/JSON.
    private_key: Any = None
    #: `kid` to put in client assertions; defaults to the key's thumbprint.
    private_key_id: str | None = None
    #: Signing algorithm for client assertions (RS256 or ES256).
    private_key_alg: str = "RS256"
    #: client_secret_basic (default with a secret), client_secret_post, or private_key_jwt
    #: (default when only a private key is given).
    token_endpoint_auth_method: str | None = None
    #: Public base URL of the site, e.g. https://dept.example.gov.cn. When empty, the URL is taken
    #: from the incoming request (only safe behind a proxy that sets Host correctly).
    base_url: str | None = None
    #: Path (under base_url) of the callback registered as redirect URI.
    redirect_path: str = "/oidc/callback"
    #: Path the provider sends the browser back to after RP-initiated logout.
    post_logout_redirect_path: str = "/"
    #: Requested scopes.
    scopes: tuple[str, ...] = ("openid", "profile")
    #: Assurance levels accepted by `login_required`; empty = any.
    required_acr: tuple[str, ...] = ()
    #: On a browser's first visit of a page, try a silent login (prompt=none): a person with a session at
    #: the provider is shown signed in without a click; otherwise the page is shown as not signed in.
    #: Tried once per local session: again after logout, or when the unauthenticated session expires
    #: (login_timeout). Only page navigations (GET, Accept text/html) try it.
    silent_login: bool = False
    #: Send prompt=login with a step-up request so the provider re-authenticates.
    step_up_prompt_login: bool = True
    #: Accepted ID-token signature algorithms.
    id_token_algorithms: tuple[str, ...] = ("RS256", "ES256")
    #: Clock skew tolerated on exp/iat/nbf, seconds.
    leeway: int = 60
    #: How long the discovery document is cached, seconds.
    discovery_ttl: int = 3600
    #: How long the JWKS is cached before a routine refetch, seconds.
    jwks_ttl: int = 3600
    #: Minimum interval between JWKS refetches triggered by an unknown `kid`, seconds.
    jwks_refetch_interval: int = 60
    #: Timeout for every HTTP call to the provider, seconds.
    http_timeout: float = 10.0
    #: TLS verification: True, False (tests only), or a CA bundle path.
    verify_tls: Any = True
    #: Name of the cookie holding the signed local session id; defaults to idp_rp_<client_id>.
    cookie_name: str | None = None
    cookie_domain: str | None = None
    cookie_path: str = "/"
    #: Secure cookie flag; defaults to True when base_url is https.
    cookie_secure: bool | None = None
    cookie_samesite: str = "Lax"
    #: Secret used to sign the session cookie. Required outside development.
    session_secret: str | None = None
    #: Absolute lifetime of a local session, seconds.
    session_lifetime: int = 8 * 3600
    #: How long a started login (state/nonce/PKCE) stays valid, seconds.
    login_timeout: int = 600
    #: Oldest accepted back-channel logout token without `exp`, seconds.
    logout_token_max_age: int = 600
    #: Fetch the userinfo endpoint after login and merge its claims into the identity.
    fetch_userinfo: bool = False
    #: Extra parameters added to every authorization request.
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ConfigurationError("Invalid relying-party configuration: " + "; ".join(problems))

    def problems(self) -> list[str]:
        out = []
        if not self.issuer:
            out.append("issuer is required")
        elif not self.issuer.startswith(("https://", "http://")):
            out.append(f"issuer must be an http(s) URL, got {self.issuer!r}")
        if not self.client_id:
            out.append("client_id is required")
        method = self.auth_method
        if method not in AUTH_METHODS:
            out.append(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}, got {method!r}")
        if method in ("client_secret_basic", "client_secret_post") and not self.client_secret:
            out.append(f"{method} needs client_secret")
        if method == "private_key_jwt" and not self.private_key:
            out.append("private_key_jwt needs private_key")
        if "openid" not in self.scopes:
            out.append("scopes must include 'openid'")
        if not self.redirect_path.startswith("/") and not self.redirect_path.startswith(("https://", "http://")):
            out.append("redirect_path must start with '/' or be an absolute URL")
        if self.base_url and not self.base_url.startswith(("https://", "http://")):
            out.append(f"base_url must be an http(s) URL, got {self.base_url!r}")
        return out

    @property
    def auth_method(self) -> str:
        if self.token_endpoint_auth_method:
            return self.token_endpoint_auth_method
        if self.client_secret or not self.private_key:
            return "client_secret_basic"
        return "private_key_jwt"

    @property
    def session_cookie_name(self) -> str:
        return self.cookie_name or "idp_rp_" + re.sub(r"[^A-Za-z0-9_]", "_", self.client_id)

    @property
    def secure_cookie(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return bool(self.base_url and self.base_url.startswith("https://"))

    def url_for_path(self, path: str, request_base: str | None = None) -> str:
        """Absolute URL of `path` on this site (`path` may already be absolute)."""
        if path.startswith(("https://", "http://")):
            return path
        base = (self.base_url or request_base or "").rstrip("/")
        if not base:
            raise ConfigurationError("base_url is not set and the request URL is unknown")
        return base + path

    def with_changes(self, **changes: Any) -> RPConfig:
        return replace(self, **changes)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], prefix: str = "") -> RPConfig:
        """Build from a mapping such as env vars or Flask config.

        Keys are the field names, upper- or lower-case, with an optional prefix
        (e.g. IDP_RP_ISSUER). List options accept space/comma separated strings; booleans accept
        1/0/true/false/yes/no; mappings accept JSON.
        """
        values: dict[str, Any] = {}
        lowered = {str(k).lower(): v for k, v in data.items()}
        for f in fields(cls):
            key = (prefix + f.name).lower()
            if key not in lowered or lowered[key] in (None, ""):
                continue
            values[f.name] = _coerce(f.name, lowered[key], f.type)
        missing = [n for n in ("issuer", "client_id") if n not in values]
        if missing:
            raise ConfigurationError(
                "Invalid relying-party configuration: "
                + "; ".join(f"{(prefix + n).upper()} is required" for n in missing)
            )
        return cls(**values)

    @classmethod
    def from_env(cls, prefix: str = "IDP_RP_", environ: Mapping[str, str] | None = None) -> RPConfig:
        return cls.from_mapping(os.environ if environ is None else environ, prefix=prefix)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(name: str, value: Any, type_: Any) -> Any:
    type_text = str(type_)
    if not isinstance(value, str):
        if "tuple" in type_text and isinstance(value, (list, tuple, set)):
            return tuple(value)
        return value
    if "tuple" in type_text:
        return tuple(v for v in re.split(r"[\s,]+", value.strip()) if v)
    if type_text.startswith("bool"):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ConfigurationError(f"{name} must be true or false, got {value!r}")
    if name == "verify_tls":
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        return value
    if type_text == "int":
        try:
            return int(value)
        except ValueError:
            raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if type_text == "float":
        try:
            return float(value)
        except ValueError:
            raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
    if "Mapping" in type_text:
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ConfigurationError(f"{name} must be a JSON object") from None
        if not isinstance(parsed, dict):
            raise ConfigurationError(f"{name} must be a JSON object")
        return parsed
    return value
