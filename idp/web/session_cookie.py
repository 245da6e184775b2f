"""The SSO session cookie: HttpOnly, SameSite=Lax; ``__Host-`` and Secure except on http://localhost."""
from __future__ import annotations

from flask import current_app, g, request

from ..sessions.logout import end_session_everywhere
from ..sessions.sso import COOKIE_NAME, SsoSession


def current_session() -> SsoSession | None:
    if "sso_session" not in g:
        core = current_app.extensions["idp"]
        g.sso_session = core.sessions.load(request.cookies.get(core.settings.cookie_name(COOKIE_NAME)))
    return g.sso_session


def set_session_cookie(response, token: str) -> None:
    core = current_app.extensions["idp"]
    response.set_cookie(core.settings.cookie_name(COOKIE_NAME), token, max_age=core.settings.session_ttl,
                        httponly=True, secure=core.settings.cookie_secure, samesite="Lax", path="/")


def clear_session_cookie(response) -> None:
    core = current_app.extensions["idp"]
    response.delete_cookie(core.settings.cookie_name(COOKIE_NAME), path="/", secure=core.settings.cookie_secure,
                           httponly=True, samesite="Lax")


def end_current_session() -> SsoSession | None:
    """End the browser's SSO session everywhere; the cookie is cleared by an after-request hook."""
    session = current_session()
    g.clear_sso_cookie = True
    if session is None:
        return None
    g.sso_session = None
    return end_session_everywhere(current_app.extensions["idp"], session)
