"""Demo department portal: a public home page, a protected profile page, a page that needs a higher
assurance level, logout, and a link to the other portal to show single sign-on.

Settings (keyword arguments of `create_app`, or DEMO_PORTAL_* environment variables):
  title, port, base_url, issuer, client_id, client_secret, other_portal_url, other_portal_title,
  secret_key, step_up_acr (acr required by /sensitive), scopes, verify_tls, silent_login (try a
  prompt=none login on a first visit, so a person logged in at another portal is shown at once; on by
  default).
"""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

from flask import Flask, render_template

from idp_rp.flask import IdpRP

ENV_PREFIX = "DEMO_PORTAL_"
DEFAULTS: dict[str, Any] = {
    "title": "示范部门门户 / Demo department portal",
    "port": 9001,
    "base_url": None,
    "issuer": None,
    "client_id": None,
    "client_secret": None,
    "other_portal_url": None,
    "other_portal_title": "另一个部门门户 / The other portal",
    "secret_key": None,
    "step_up_acr": "urn:idp:loa:3",
    "scopes": "openid profile",
    "verify_tls": True,
    "silent_login": True,
}


def settings_from_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    return {k[len(ENV_PREFIX):].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX) and v != ""}


def create_app(**settings: Any) -> Flask:
    """Build the portal. Unset settings fall back to DEMO_PORTAL_* env vars, then to defaults."""
    cfg = {**DEFAULTS, **settings_from_env(), **{k: v for k, v in settings.items() if v is not None}}
    cfg["port"] = int(cfg["port"])
    if not cfg["base_url"]:
        cfg["base_url"] = f"http://localhost:{cfg['port']}"
    app = Flask(__name__)
    app.secret_key = cfg["secret_key"] or secrets.token_urlsafe(32)
    app.config["PORTAL"] = cfg
    rp_settings = {k: cfg[k] for k in ("issuer", "client_id", "client_secret", "base_url", "scopes", "verify_tls",
                                       "silent_login")}
    rp_settings["fetch_userinfo"] = cfg.get("fetch_userinfo", True)
    if "store" in settings:
        rp_settings["store"] = settings["store"]
    oidc = IdpRP(app, **rp_settings)
    app.extensions["demo_portal"] = oidc

    @app.context_processor
    def portal_context() -> dict[str, Any]:
        return {"portal": cfg}

    @app.template_filter("datetime")
    def datetime_filter(value: float | None) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value)) if value else "-"

    @app.get("/")
    def index():
        return render_template("index.html", user=oidc.current_user)

    @app.get("/profile")
    @oidc.login_required
    def profile():
        return render_template("profile.html", user=oidc.current_user)

    @app.get("/sensitive")
    @oidc.require_acr(*str(cfg["step_up_acr"]).split())
    def sensitive():
        return render_template("sensitive.html", user=oidc.current_user)

    return app
