"""Signing of the local session id carried in the browser cookie (HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import warnings


class SessionCookieSigner:
    def __init__(self, secret: str | bytes | None):
        if not secret:
            warnings.warn(
                "idp_rp: no session_secret configured; using a random one, so sessions end when the "
                "process restarts and are not shared between worker processes",
                stacklevel=3,
            )
            secret = secrets.token_bytes(32)
        self._key = hashlib.sha256(b"idp_rp.session-cookie:" + (secret.encode() if isinstance(secret, str) else secret)).digest()

    def _mac(self, value: str) -> str:
        return hmac.new(self._key, value.encode("ascii"), hashlib.sha256).hexdigest()

    def sign(self, session_id: str) -> str:
        return f"{session_id}.{self._mac(session_id)}"

    def unsign(self, cookie_value: str | None) -> str | None:
        """The session id in a cookie value, or None when missing or forged."""
        if not cookie_value or "." not in cookie_value:
            return None
        session_id, _, mac = cookie_value.rpartition(".")
        try:
            expected = self._mac(session_id)
        except UnicodeEncodeError:
            return None
        return session_id if hmac.compare_digest(expected, mac) else None
