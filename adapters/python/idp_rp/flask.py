"""Flask extension: `IdpRP(app, ...)` adds /oidc/login, /oidc/callback, /oidc/logout and
/oidc/backchannel-logout, and offers `login_required`, `require_acr(...)` and `current_user`.

Settings come from keyword arguments, an `RPConfig`, or `IDP_RP_*` keys in `app.config`
(e.g. IDP_RP_ISSUER, IDP_RP_CLIENT_ID, IDP_RP_CLIENT_SECRET). The session cookie is signed with
IDP_RP_SESSION_SECRET or, failing that, the app's SECRET_KEY. With ``silent_login=True``
(IDP_RP_SILENT_LOGIN) a browser's first page view tries a prompt=none login, so a person already
logged in at the provider is shown signed in at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from flask import Blueprint, Flask, Response, g, jsonify, request

from .config import RPConfig
from .errors import RPError
from .relying_party import RelyingParty
from .resource_server import AccessTokenValidator
from .sessions import LocalSession, SessionStore
from .web import RPWeb, WebResponse, is_page_navigation, page_for_error, safe_local_path


@dataclass
class User:
    """The logged-in person as seen by the site."""

    sub: str
    claims: dict
    session: LocalSession

    @property
    def name(self) -> str | None:
        return self.claims.get("name") or self.claims.get("preferred_username")

    @property
    def acr(self) -> str | None:
        return self.session.acr

    @property
    def amr(self) -> list[str]:
        return self.session.amr

    @property
    def sid(self) -> str | None:
        return self.session.sid

    @property
    def access_token(self) -> str | None:
        return self.session.access_token

    def __getitem__(self, claim: str) -> Any:
        return self.claims[claim]

    def get(self, claim: str, default: Any = None) -> Any:
        return self.claims.get(claim, default)


def to_flask(resp: WebResponse) -> Response:
    out = Response(resp.body, status=resp.status)
    for name, value in resp.headers:
        if name.lower() == "set-cookie":
            out.headers.add(name, value)
        else:
            out.headers[name] = value
    return out


class IdpRP:
    def __init__(self, app: Flask | None = None, *, config: RPConfig | None = None,
                 store: SessionStore | None = None, url_prefix: str = "/oidc", http: requests.Session | None = None,
                 **settings: Any):
        self._config = config
        self._store = store
        self._http = http
        self._settings = settings
        self.url_prefix = url_prefix.rstrip("/")
        self.rp: RelyingParty | None = None
        self.web: RPWeb | None = None
        if app is not None:
            self.init_app(app)

    # -- setup --

    def init_app(self, app: Flask) -> None:
        config = self._config or self._config_from(app)
        self.rp = RelyingParty(config, store=self._store, http=self._http)
        self.web = RPWeb(self.rp)
        app.extensions["idp_rp"] = self
        bp = Blueprint("idp_rp", __name__, url_prefix=self.url_prefix or None)
        bp.add_url_rule("/login", "login", self._login_view)
        bp.add_url_rule("/callback", "callback", self._callback_view)
        bp.add_url_rule("/logout", "logout", self._logout_view, methods=["GET", "POST"])
        bp.add_url_rule("/backchannel-logout", "backchannel_logout", self._backchannel_view, methods=["POST"])
        app.register_blueprint(bp)
        app.context_processor(lambda: {"current_user": self.current_user})
        if self.rp.config.silent_login:
            app.before_request(self._silent_login)

    def _config_from(self, app: Flask) -> RPConfig:
        data = {k[len("IDP_RP_"):].lower(): v for k, v in app.config.items() if k.startswith("IDP_RP_")}
        data.update({k.lower(): v for k, v in self._settings.items()})
        data.setdefault("redirect_path", self.url_prefix + "/callback")
        if not data.get("session_secret") and app.secret_key:
            data["session_secret"] = app.secret_key
        return RPConfig.from_mapping(data)

    # -- request helpers --

    @staticmethod
    def _request_base() -> str:
        return request.host_url.rstrip("/") + request.script_root

    def _cookie(self) -> str | None:
        assert self.rp is not None
        return request.cookies.get(self.rp.config.session_cookie_name)

    @property
    def current_session(self) -> LocalSession | None:
        if "_idp_rp_session" not in g:
            assert self.web is not None
            g._idp_rp_session = self.web.load_session(self._cookie())
        return g._idp_rp_session

    @property
    def current_user(self) -> User | None:
        session = self.current_session
        if session is None or not session.is_authenticated:
            return None
        claims = {**session.userinfo, **session.claims}
        return User(sub=session.sub or "", claims=claims, session=session)

    def _here(self) -> str:
        path = request.full_path
        return path[:-1] if path.endswith("?") else path

    # -- decorators --

    def require_acr(self, *accepted: str) -> Callable:
        """Decorator: the view needs a login at one of the `accepted` assurance levels (step-up)."""

        def decorator(view: Callable) -> Callable:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                assert self.web is not None
                resp = self.web.require(self.current_session, self._cookie(), self._request_base(), self._here(),
                                        accepted or self.rp.config.required_acr)  # type: ignore[union-attr]
                if resp is not None:
                    return to_flask(resp)
                return view(*args, **kwargs)

            return wrapper

        return decorator

    def login_required(self, view: Callable) -> Callable:
        """Decorator: the view needs a logged-in user (at the configured required_acr, if any)."""
        return self.require_acr()(view)

    def _silent_login(self) -> Response | None:
        if request.blueprint == "idp_rp" or request.endpoint in (None, "static"):
            return None
        if not is_page_navigation(request.method, request.headers.get("Accept"),
                                  request.headers.get("Sec-Fetch-Mode"), request.headers.get("Sec-Fetch-Dest")):
            return None
        assert self.web is not None
        resp = self.web.silent_login(self.current_session, self._request_base(), self._here())
        return to_flask(resp) if resp is not None else None

    # -- views --

    def _login_view(self) -> Response:
        assert self.web is not None
        acr = request.args.get("acr_values")
        return to_flask(self.web.login(self._cookie(), self._request_base(), safe_local_path(request.args.get("next")),
                                       acr_values=acr.split() if acr else None))

    def _callback_view(self) -> Response:
        assert self.web is not None
        return to_flask(self.web.callback(self._cookie(), request.args))

    def _logout_view(self) -> Response:
        assert self.web is not None
        return to_flask(self.web.logout(self._cookie(), self._request_base()))

    def _backchannel_view(self) -> Response:
        assert self.web is not None
        return to_flask(self.web.backchannel_logout(request.method, request.form))


def require_bearer(validator: AccessTokenValidator, *scopes: str) -> Callable:
    """Decorator for API views: a valid RFC 9068 access token with `scopes` is required.

    The token's claims are available as `flask.g.access_token_claims`. Failures answer with RFC 6750
    `WWW-Authenticate` errors and a JSON body.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                g.access_token_claims = validator.validate_authorization(request.headers.get("Authorization"),
                                                                         scopes)
            except RPError as exc:
                status, headers, body = validator.error_response(exc, scopes)
                resp = jsonify(body)
                resp.status_code = status
                resp.headers.update(headers)
                return resp
            return view(*args, **kwargs)

        return wrapper

    return decorator


def error_response(exc: Exception) -> Response:
    """Turn an adapter exception raised in application code into a friendly page."""
    return to_flask(page_for_error(exc))


__all__ = ["IdpRP", "User", "require_bearer", "error_response"]
