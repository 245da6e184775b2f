"""Relying-party adapter for the unified identity server.

Core (no web framework): `RelyingParty`, `RPConfig`, `AccessTokenValidator`.
WSGI: `idp_rp.wsgi.OIDCMiddleware`, `idp_rp.wsgi.BearerTokenMiddleware`.
Flask (extra "flask"): `idp_rp.flask.IdpRP`, `idp_rp.flask.require_bearer`.
"""

from .config import RPConfig
from .errors import (
    AccessTokenError,
    AuthorizationError,
    ConfigurationError,
    DiscoveryError,
    IDTokenError,
    InsufficientAcrError,
    InsufficientScopeError,
    IssuerMismatchError,
    LoginError,
    LogoutTokenError,
    ProviderError,
    RedirectNotAllowedError,
    RPError,
    StateMismatchError,
    TokenError,
    TokenValidationError,
)
from .jwt_checks import BACKCHANNEL_LOGOUT_EVENT
from .relying_party import LoginResult, RelyingParty
from .resource_server import AccessTokenValidator, bearer_error_response, www_authenticate
from .sessions import LocalSession, MemoryReplayCache, MemorySessionStore, ReplayCache, SessionStore
from .web import RPWeb, WebResponse

__version__ = "0.1.0"

__all__ = [
    "AccessTokenError", "AccessTokenValidator", "AuthorizationError", "BACKCHANNEL_LOGOUT_EVENT",
    "ConfigurationError", "DiscoveryError", "IDTokenError", "InsufficientAcrError", "InsufficientScopeError",
    "IssuerMismatchError", "LocalSession", "LoginError", "LoginResult", "LogoutTokenError", "MemoryReplayCache",
    "MemorySessionStore", "ProviderError", "RPConfig", "RPError", "RPWeb", "RedirectNotAllowedError",
    "RelyingParty", "ReplayCache", "SessionStore", "StateMismatchError", "TokenError", "TokenValidationError",
    "WebResponse", "bearer_error_response", "www_authenticate",
]
