"""The gateway's HTTP endpoints.

  GET  /auth                 nginx auth_request: 200 + X-Auth-* headers, or 401
  GET  /auth/redirect        Traefik ForwardAuth: 200 + headers, or 302 to /login for the original URL
  GET  /login?rd=URL         start the OIDC login, coming back to URL (allowed hosts only)
  GET  /callback             the registered redirect URI
  GET  /logout               end the gateway session and log out at the provider
  POST /backchannel-logout   OIDC Back-Channel Logout
  GET  /signed-out           landing page after logout
  GET  /healthz              liveness
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from idp_rp import RedirectNotAllowedError, RelyingParty, RPWeb, SessionStore
from idp_rp.flask import to_flask
from idp_rp.web import error_page

from .config import GatewayConfig, config_from_mapping
from .redirects import checked_return_url

IDENTITY_HEADERS = ("X-Auth-Subject", "X-Auth-Name", "X-Auth-Acr", "X-Auth-Id-Number")


def _header_safe(value: Any) -> str:
    return "".join(c for c in str(value) if 0x20 <= ord(c) < 0x7F)


def identity_headers(config: GatewayConfig, claims: dict) -> dict[str, str]:
    """X-Auth-* headers for the upstream; built only from the validated session, never from the request."""
    headers = {"X-Auth-Subject": _header_safe(claims["sub"])}
    name = claims.get("name") or claims.get("preferred_username")
    if name:
        headers["X-Auth-Name"] = quote(str(name), safe="")
    if claims.get("acr"):
        headers["X-Auth-Acr"] = _header_safe(claims["acr"])
    if config.release_id_number and claims.get(config.id_number_claim):
        headers["X-Auth-Id-Number"] = _header_safe(claims[config.id_number_claim])
    return headers


def create_app(config: GatewayConfig | dict | None = None, *, store: SessionStore | None = None,
               **settings: Any) -> Flask:
    if config is None or isinstance(config, dict):
        config = config_from_mapping({**(config or {}), **settings})
    rp = RelyingParty(config.rp, store=store)
    web = RPWeb(rp)
    base = config.rp.base_url or ""
    require_https = base.startswith("https://")
    app = Flask("idp_gateway")
    app.extensions["idp_gateway"] = {"config": config, "rp": rp}

    def cookie() -> str | None:
        return request.cookies.get(config.rp.session_cookie_name)

    def no_store(resp: Response) -> Response:
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def authorized() -> dict | None:
        session = web.load_session(cookie())
        if session is None or not rp.acr_satisfied(session, config.rp.required_acr):
            return None
        return {**session.userinfo, **session.claims}

    @app.get("/auth")
    def auth() -> Response:
        claims = authorized()
        if claims is None:
            return no_store(Response("", status=401))
        return no_store(Response("", status=200, headers=identity_headers(config, claims)))

    @app.get("/auth/redirect")
    def auth_redirect() -> Response:
        claims = authorized()
        if claims is not None:
            return no_store(Response("", status=200, headers=identity_headers(config, claims)))
        proto = request.headers.get("X-Forwarded-Proto", "https")
        host = request.headers.get("X-Forwarded-Host", "")
        uri = request.headers.get("X-Forwarded-Uri", "/")
        rd = f"{proto}://{host}{uri}" if host else ""
        resp = Response("", status=302)
        resp.headers["Location"] = base + "/login?" + urlencode({"rd": rd}) if rd else base + "/login"
        return no_store(resp)

    @app.get("/login")
    def login() -> Response:
        try:
            target = checked_return_url(request.args.get("rd"), config.allowed_hosts, config.default_rd,
                                        require_https)
        except RedirectNotAllowedError as exc:
            return to_flask(error_page(400, "跳转地址不允许 / Redirect not allowed", str(exc)))
        return to_flask(web.login(cookie(), base, target))

    @app.get("/callback")
    def callback() -> Response:
        return to_flask(web.callback(cookie(), request.args))

    @app.route("/logout", methods=["GET", "POST"])
    def logout() -> Response:
        return to_flask(web.logout(cookie(), base))

    @app.post("/backchannel-logout")
    def backchannel_logout() -> Response:
        return to_flask(web.backchannel_logout(request.method, request.form))

    @app.get("/signed-out")
    def signed_out() -> Response:
        body = ("<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>已退出 / Signed out</title>"
                "</head><body><h1>您已安全退出 / You have signed out</h1>"
                f"<p><a href=\"{html.escape(config.default_rd)}\">返回 / Back</a></p></body></html>")
        return Response(body, mimetype="text/html")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", mimetype="text/plain")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return exc  # type: ignore[return-value]
        app.logger.exception("gateway error")
        return to_flask(error_page(500, "内部错误 / Internal error", "An unexpected error occurred; it has been logged."))

    return app
