"""The browser's SSO session: its cookie (HttpOnly, SameSite=Lax; ``__Host-`` and Secure except on
http://localhost), the session of the current request, starting or stepping it up after a login, ending
it, and the local page a login may return to."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, redirect, request

from ..http.client_ip import client_ip
from .logout import end_session_everywhere
from .sso import COOKIE_NAME, SsoSession


def _core():
    return current_app.extensions["idp"]


def current_session() -> SsoSession | None:
    if "sso_session" not in g:
        core = _core()
        g.sso_session = core.sessions.load(request.cookies.get(core.settings.cookie_name(COOKIE_NAME)))
    return g.sso_session


def set_session_cookie(response, token: str) -> None:
    settings = _core().settings
    response.set_cookie(settings.cookie_name(COOKIE_NAME), token, max_age=settings.session_ttl,
                        httponly=True, secure=settings.cookie_secure, samesite="Lax", path="/")


def clear_session_cookie(response) -> None:
    settings = _core().settings
    response.delete_cookie(settings.cookie_name(COOKIE_NAME), path="/", secure=settings.cookie_secure,
                           httponly=True, samesite="Lax")


def clear_cookie_if_ended(response):
    """After-request hook: the cookie of a session ended during this request is cleared."""
    if g.get("clear_sso_cookie"):
        clear_session_cookie(response)
    return response


def establish_session(auth, response_target: str):
    """Start (or step up) the browser's SSO session after a successful authentication, and redirect
    to ``response_target``. A login as somebody else ends the session that was there everywhere."""
    core = _core()
    session = current_session()
    if session is not None and session.person_id == auth.person_id:
        core.sessions.reauthenticate(session, auth)
        response = redirect(response_target)
    else:
        if session is not None:
            end_session_everywhere(core, session, reason="new login")
        token, session = core.sessions.create(auth, ip=client_ip(), user_agent=request.headers.get("User-Agent", ""))
        response = redirect(response_target)
        set_session_cookie(response, token)
    g.sso_session = session
    return response


def end_current_session() -> SsoSession | None:
    """End the browser's SSO session everywhere; the cookie is cleared by an after-request hook."""
    session = current_session()
    g.clear_sso_cookie = True
    if session is None:
        return None
    g.sso_session = None
    return end_session_everywhere(_core(), session)


def safe_next(value: str | None) -> str | None:
    """A local path to return to after logging in (``next``); anything that could leave the site is dropped."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None
