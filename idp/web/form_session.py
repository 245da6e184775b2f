"""Flask's signed-cookie session (it carries the login form's CSRF token), with its signer built once.

Flask builds the signer for every request, including every token or JWKS request that has no cookie,
and checks the new serializer by serializing a value. The signer depends only on the secret keys."""
from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


class FormSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._signer = None  # (secret keys, serializer)

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._signer
        if cached is None or cached[0] != keys:
            cached = self._signer = (keys, super().get_signing_serializer(app))
        return cached[1]
