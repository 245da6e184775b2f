"""Framework-neutral HTTP handling shared by the WSGI middleware, the Flask extension and the gateway.

Each handler takes plain values (cookie value, query/form mappings, the site's base URL) and returns a
`WebResponse`; integrations only translate it to their response type. Errors become short bilingual
HTML pages (or JSON for back-channel logout); no traceback ever reaches a browser.
"""

from __future__ import annotations

import html
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from .errors import (
    InsufficientAcrError,
    LoginError,
    LogoutTokenError,
    ProviderError,
    RPError,
    SilentLoginDeclined,
    TokenValidationError,
)
from .relying_party import RelyingParty
from .sessions import LocalSession

log = logging.getLogger("idp_rp")


@dataclass
class WebResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def redirect(location: str) -> WebResponse:
    return WebResponse(302, [("Location", location), ("Cache-Control", "no-store")])


def error_page(status: int, title: str, message: str) -> WebResponse:
    body = (
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>{t}</title></head>"
        "<body><h1>{t}</h1><p>{m}</p><p><a href=\"/\">返回首页 / Back to home</a></p></body></html>"
    ).format(t=html.escape(title), m=html.escape(message))
    return WebResponse(status, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
                       body.encode("utf-8"))


def json_response(status: int, data: dict) -> WebResponse:
    return WebResponse(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                       json.dumps(data, ensure_ascii=False).encode("utf-8"))


def page_for_error(exc: Exception) -> WebResponse:
    """A user-facing page for a failed login; the detail is logged and shown, never a traceback."""
    if isinstance(exc, InsufficientAcrError):
        return error_page(403, "认证等级不足 / Insufficient assurance level", str(exc))
    if isinstance(exc, (LoginError, TokenValidationError)):
        log.warning("login failed: %s", exc)
        return error_page(400, "登录失败 / Login failed", str(exc))
    if isinstance(exc, ProviderError):
        log.error("identity provider problem: %s", exc)
        return error_page(502, "统一身份认证服务暂不可用 / Identity provider unavailable", str(exc))
    if isinstance(exc, RPError):
        log.error("relying-party error: %s", exc)
        return error_page(500, "登录配置错误 / Login misconfigured", str(exc))
    log.exception("unexpected error in the login flow")
    return error_page(500, "内部错误 / Internal error", "An unexpected error occurred; it has been logged.")


def safe_local_path(value: str | None, default: str = "/") -> str:
    """`value` if it is a path on this site, else `default` (no open redirect via //host or \\)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 0x20 for c in value):
        return default
    return value


def is_page_navigation(method: str, accept: str | None, fetch_mode: str | None = None,
                       fetch_dest: str | None = None) -> bool:
    """A browser opening a page (not a script's request, an image, a frame or a form post): the only kind
    of request worth a silent-login round trip through the provider."""
    if method.upper() != "GET" or "text/html" not in (accept or ""):
        return False
    if fetch_mode is not None and fetch_mode != "navigate":
        return False
    return fetch_dest is None or fetch_dest == "document"


class RPWeb:
    """HTTP-level flows of a relying party."""

    def __init__(self, rp: RelyingParty, *, post_logout_path: str | None = None):
        self.rp = rp
        self.post_logout_path = post_logout_path or rp.config.post_logout_redirect_path

    # -- cookies --

    def set_cookie_header(self, session: LocalSession) -> tuple[str, str]:
        max_age = max(int(session.expires_at - time.time()), 0) if session.expires_at else None
        return ("Set-Cookie", self._cookie(self.rp.cookie_value(session), max_age))

    def clear_cookie_header(self) -> tuple[str, str]:
        return ("Set-Cookie", self._cookie("", 0))

    def _cookie(self, value: str, max_age: int | None) -> str:
        cfg = self.rp.config
        jar: SimpleCookie = SimpleCookie()
        name = cfg.session_cookie_name
        jar[name] = value
        morsel = jar[name]
        morsel["path"] = cfg.cookie_path
        morsel["httponly"] = True
        morsel["samesite"] = cfg.cookie_samesite
        if cfg.cookie_domain:
            morsel["domain"] = cfg.cookie_domain
        if cfg.secure_cookie:
            morsel["secure"] = True
        if max_age is not None:
            morsel["max-age"] = max_age
        return morsel.OutputString()

    # -- sessions --

    def load_session(self, cookie_value: str | None) -> LocalSession | None:
        """The browser's local session; an expired access token is refreshed on the way."""
        session = self.rp.session_from_cookie(cookie_value)
        if session is not None and session.is_authenticated:
            try:
                self.rp.ensure_fresh(session)
            except RPError as exc:
                log.warning("token refresh failed, keeping the session: %s", exc)
        return session

    # -- flows --

    def login(self, cookie_value: str | None, request_base: str, return_to: str | None,
              acr_values: Iterable[str] | None = None, prompt: str | None = None) -> WebResponse:
        session = self.rp.session_from_cookie(cookie_value) or self.rp.new_session()
        try:
            url = self.rp.start_login(session, redirect_uri=self.rp.redirect_uri(request_base),
                                      return_to=return_to or "/", acr_values=acr_values, prompt=prompt)
        except RPError as exc:
            return page_for_error(exc)
        resp = redirect(url)
        resp.headers.append(self.set_cookie_header(session))
        return resp

    def silent_login(self, session: LocalSession | None, request_base: str, return_to: str) -> WebResponse | None:
        """The redirect of a silent login (prompt=none) when the site wants one and this browser has not
        tried it in its local session; None otherwise (the page is served as it is)."""
        if not self.rp.config.silent_login:
            return None
        if session is not None and (session.is_authenticated or session.silent_login_tried):
            return None
        session = session or self.rp.new_session()
        try:
            url = self.rp.start_silent_login(session, redirect_uri=self.rp.redirect_uri(request_base),
                                             return_to=return_to)
        except RPError as exc:
            # The provider cannot be asked now: come back to the page with the attempt remembered, so the
            # page is served unauthenticated instead of trying again on every request.
            log.warning("silent login not possible: %s", exc)
            session.silent_login_tried = True
            self.rp.store.save(session)
            url = return_to
        resp = redirect(url)
        resp.headers.append(self.set_cookie_header(session))
        return resp

    def require(self, session: LocalSession | None, cookie_value: str | None, request_base: str,
                return_to: str, accepted_acr: Iterable[str] = ()) -> WebResponse | None:
        """None when the session satisfies the requirement, else the redirect that fixes it."""
        accepted = tuple(accepted_acr)
        if session is not None and session.is_authenticated and self.rp.acr_satisfied(session, accepted):
            return None
        if session is not None and session.is_authenticated:
            try:
                url = self.rp.start_step_up(session, redirect_uri=self.rp.redirect_uri(request_base),
                                            return_to=return_to, accepted_acr=accepted)
            except RPError as exc:
                return page_for_error(exc)
            resp = redirect(url)
            resp.headers.append(self.set_cookie_header(session))
            return resp
        return self.login(cookie_value, request_base, return_to, acr_values=accepted or None)

    def callback(self, cookie_value: str | None, params: Mapping[str, str]) -> WebResponse:
        session = self.rp.session_from_cookie(cookie_value)
        try:
            result = self.rp.finish_login(session, params)
        except SilentLoginDeclined as exc:  # not signed in at the provider: back to the page, no error
            return redirect(exc.return_to)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a page, never a traceback
            return page_for_error(exc)
        resp = redirect(result.return_to)
        resp.headers.append(self.set_cookie_header(result.session))
        return resp

    def logout(self, cookie_value: str | None, request_base: str) -> WebResponse:
        session = self.rp.session_from_cookie(cookie_value)
        post_logout = self.rp.config.url_for_path(self.post_logout_path, request_base)
        try:
            url = self.rp.logout_url(session, post_logout)
        except RPError as exc:
            log.warning("provider logout unavailable, logging out locally: %s", exc)
            url = None
        if session is not None:
            self.rp.end_local_session(session)
        resp = redirect(url or post_logout)
        resp.headers.append(self.clear_cookie_header())
        return resp

    def backchannel_logout(self, method: str, form: Mapping[str, str]) -> WebResponse:
        if method.upper() != "POST":
            resp = json_response(405, {"error": "invalid_request", "error_description": "use POST"})
            resp.headers.append(("Allow", "POST"))
            return resp
        try:
            ended = self.rp.backchannel_logout(form)
        except LogoutTokenError as exc:
            log.warning("back-channel logout refused: %s", exc)
            return json_response(400, {"error": "invalid_request", "error_description": str(exc)})
        except RPError as exc:
            log.error("back-channel logout could not be processed: %s", exc)
            return json_response(400, {"error": "invalid_request", "error_description": str(exc)})
        log.info("back-channel logout ended %d local session(s)", len(ended))
        return WebResponse(200, [("Cache-Control", "no-store")])
