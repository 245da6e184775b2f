"""Exceptions raised by the relying-party adapter.

Every failure carries a human-readable message; protocol failures also carry the OAuth error code
so that callers can show or log something useful without a traceback.
"""

from __future__ import annotations


class RPError(Exception):
    """Base class of every adapter error."""

    #: OAuth-style error code used when the error is turned into an HTTP response.
    error = "server_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(RPError):
    """The adapter is configured incorrectly (missing issuer, client id, secret...)."""

    error = "configuration_error"


class ProviderError(RPError):
    """The identity provider could not be reached or answered with something unusable."""

    error = "temporarily_unavailable"


class DiscoveryError(ProviderError):
    """The provider's discovery document or JWKS could not be fetched or is invalid."""


class LoginError(RPError):
    """The authorization response on the callback could not be accepted."""

    error = "invalid_request"


class StateMismatchError(LoginError):
    """The `state` on the callback does not match a login started by this browser."""


class IssuerMismatchError(LoginError):
    """The `iss` authorization-response parameter (RFC 9207) is missing or wrong."""


class AuthorizationError(LoginError):
    """The provider redirected back with an `error=` response."""

    def __init__(self, error: str, description: str | None = None):
        self.error = error
        self.description = description or ""
        text = f"The identity provider refused the login: {error}"
        if description:
            text += f" ({description})"
        super().__init__(text)


class SilentLoginDeclined(AuthorizationError):
    """A silent login (prompt=none) found no usable session at the provider (login_required and the like):
    the person is simply not signed in and goes back to `return_to`."""

    def __init__(self, error: str, description: str | None = None, *, return_to: str = "/"):
        super().__init__(error, description)
        self.return_to = return_to


class TokenError(ProviderError):
    """The token endpoint answered with an error."""

    def __init__(self, error: str, description: str | None = None, status: int | None = None):
        self.error = error
        self.description = description or ""
        self.status = status
        text = f"The token endpoint returned {error}"
        if status:
            text += f" (HTTP {status})"
        if description:
            text += f": {description}"
        super().__init__(text)


class TokenValidationError(RPError):
    """A JWT from the provider failed a check; `check` names the failed check."""

    error = "invalid_token"
    kind = "token"

    def __init__(self, check: str, message: str):
        self.check = check
        super().__init__(f"Invalid {self.kind}: {message} (check: {check})")


class IDTokenError(TokenValidationError):
    """The ID token failed validation."""

    kind = "ID token"


class LogoutTokenError(TokenValidationError):
    """A back-channel logout token failed validation."""

    error = "invalid_request"
    kind = "logout token"


class AccessTokenError(TokenValidationError):
    """A bearer access token presented to a resource server failed validation (RFC 6750 invalid_token)."""

    kind = "access token"


class InsufficientScopeError(RPError):
    """A valid access token lacks a scope required by the resource (RFC 6750 insufficient_scope)."""

    error = "insufficient_scope"

    def __init__(self, required: list[str], granted: list[str]):
        self.required = list(required)
        self.granted = list(granted)
        missing = sorted(set(required) - set(granted))
        super().__init__(f"The access token lacks the required scope(s): {' '.join(missing)}")


class InsufficientAcrError(LoginError):
    """The provider authenticated the user at a lower assurance level than required."""

    error = "insufficient_user_authentication"

    def __init__(self, got: str | None, accepted: list[str]):
        self.got = got
        self.accepted = list(accepted)
        super().__init__(
            f"The login reached assurance level {got or '(none)'}, but one of {', '.join(accepted)} is required"
        )


class RedirectNotAllowedError(RPError):
    """A return URL points at a host that is not allowed (open-redirect protection)."""

    error = "invalid_request"
