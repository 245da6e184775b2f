"""Login methods. Each is an authenticator (``authenticator.Authenticator``): it takes its own
credentials and a ``LoginContext``, returns the same neutral ``AuthResult`` and refuses with one
error type, ``AuthnError``, whose ``code`` the pages map to a message and a status."""
from ..errors import AuthnError, LockedOut
from .authenticator import Authenticator, LoginContext
from .result import ACR_CERTIFICATE, ACR_HARDWARE_CERTIFICATE, ACR_PASSWORD, AuthResult, acr_level

__all__ = ["AuthResult", "AuthnError", "Authenticator", "LockedOut", "LoginContext", "ACR_PASSWORD",
           "ACR_CERTIFICATE", "ACR_HARDWARE_CERTIFICATE", "acr_level"]
