"""idp: unified identity authentication server."""
from __future__ import annotations

from inspect import CO_COROUTINE
from types import FunctionType

from flask import Flask

from .config import Settings

__version__ = "0.1.0"


class IdpFlask(Flask):
    def ensure_sync(self, func):
        """Flask asks ``inspect.iscoroutinefunction`` of every hook and view on every request (nine
        times per token request, unwrapping each); a plain function answers from its code flags."""
        if type(func) is FunctionType and not func.__code__.co_flags & CO_COROUTINE:
            return func
        return super().ensure_sync(func)


def create_app(settings: Settings | None = None, *, store=None) -> Flask:
    from .core import IdpCore
    from .extensions import csrf, db
    from .protocols.oidc.server import create_authorization_server
    from .web.form_session import FormSessionInterface
    from .web.i18n import init_i18n

    settings = settings or Settings.from_env()
    app = IdpFlask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=_database_uri(settings.database_url),
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        SESSION_COOKIE_NAME=settings.cookie_name("idp_ui"),  # the form session (CSRF token, language)
        SESSION_COOKIE_PATH="/",  # a __Host- cookie needs Path=/ whatever the application root
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=3600,
        MAX_CONTENT_LENGTH=1024 * 1024,
        JSON_AS_ASCII=False,
        IDP_SETTINGS=settings,
    )
    app.session_interface = FormSessionInterface()
    from .http.proxy import trust_forwarded_proto
    from .http.request_guard import init_request_guard
    app.wsgi_app = trust_forwarded_proto(app.wsgi_app, settings.trusted_proxies)
    init_request_guard(app, settings.issuer)  # first of the before-request hooks: every view sees checked input
    db.init_app(app)
    csrf.init_app(app)
    init_i18n(app)

    core = IdpCore(settings, store=store)
    core.keys.configure(settings)
    core.trust = _trust_store(settings.trust_profiles_dir)
    core.shared_crls = _shared_crls(app, core.trust, settings.crl_refresh_seconds)
    core.crl_refresher = _crl_refresher(core.trust, settings.crl_refresh_seconds)
    app.extensions["idp"] = core

    with app.app_context():
        if settings.create_schema:
            from .migrate import upgrade
            upgrade(app)
        core.server = create_authorization_server(app)
    from .protocols.cas import init_cas
    from .protocols.saml import init_saml
    from .protocols.oidc import init_oidc
    from .web.errors import register_error_handlers
    from .web.views import bp as web_bp
    from .web.health import bp as health_bp
    from .web.certificate_views import bp as certificate_bp
    from .web.passkey_views import account_section as passkey_section, bp as passkey_bp

    init_oidc(app, core)
    _init_responses(app)
    app.register_blueprint(web_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(certificate_bp)
    from .web.agent_views import STEP_UP_PROTOCOL, account_section as authorisations_section, bp as agents_bp
    from .web.agent_views import step_up_cancelled
    app.register_blueprint(agents_bp)
    core.logins.on_cancel(STEP_UP_PROTOCOL, step_up_cancelled)
    core.account_sections.append(authorisations_section)
    app.register_blueprint(passkey_bp)
    core.account_sections.append(passkey_section)
    from .web.qr_views import bp as qr_bp
    app.register_blueprint(qr_bp)
    from .web.second_factor_views import init_second_factors
    init_second_factors(app, core)
    csrf.exempt(health_bp)
    init_cas(app, core)
    init_saml(app, core)
    csrf.exempt(certificate_bp)  # its form posts check CSRF themselves; API and mTLS posts need none
    _register_admin(app)
    register_error_handlers(app)
    from .observability import init_observability
    init_observability(app)
    from .protocols.oidc.published import published_documents
    app.wsgi_app = published_documents(app.wsgi_app, app)  # outermost: JWKS and discovery as stored bytes
    return app


def _init_responses(app: Flask) -> None:
    """Every response: the security headers and CSP (with the nonce templates call ``csp_nonce()`` for),
    and the SSO cookie cleared when the request ended the session."""
    from .http.headers import add_security_headers, allow_frame, csp_nonce
    from .sessions.browser import clear_cookie_if_ended
    from .sessions.logout import front_channel_logouts

    def finish(response):
        clear_cookie_if_ended(response)
        add_security_headers(response)
        return response

    def front_channel_frames() -> list[str]:
        """The front-channel logout URLs of this request, each allowed as a frame by the page's CSP."""
        urls = front_channel_logouts()
        for url in urls:
            allow_frame(url)
        return urls

    app.after_request(finish)
    app.add_template_global(csp_nonce)
    app.add_template_global(front_channel_frames)


def _register_admin(app: Flask) -> None:
    """The admin console (CSRF-protected forms) and the admin API (bearer tokens, so no CSRF)."""
    from .admin.api import bp as admin_api_bp
    from .admin.console import bp as admin_bp
    from .extensions import csrf

    app.register_blueprint(admin_bp)
    app.register_blueprint(admin_api_bp)
    csrf.exempt(admin_api_bp)


def _trust_store(directory: str):
    """The CA trust profiles, loaded once; an absent directory trusts no CA (certificate login refused)."""
    import logging
    import os

    from .pki import TrustStore

    if not os.path.isdir(directory):
        logging.getLogger(__name__).warning("trust profile directory %s does not exist; no CA is trusted",
                                            directory)
        return TrustStore()
    return TrustStore.from_directory(directory)


def _shared_crls(app: Flask, trust, seconds: int):
    """With a CRL refresh schedule, the CRLs are fetched from the CAs by one node (the ``crl.publish`` job)
    and every node's refresher reads the copies it stores; a copy missing two passes' worth of time is
    fetched from the CA again by the node that needs it."""
    if seconds <= 0:
        return None
    from .extensions import db
    from .pki.crl_copies import SharedCrls

    with app.app_context():
        engine = db.engine
    shared = SharedCrls(engine, max_age=2 * seconds + 60, fetcher=trust.revocation.fetcher)
    trust.revocation.fetcher = shared
    return shared


def _crl_refresher(trust, seconds: int):
    """The background CRL refresher when IDP_CRL_REFRESH_SECONDS > 0 (stop it with ``.stop()``), else None."""
    if seconds <= 0:
        return None
    from .pki.refresh import CrlRefresher

    return CrlRefresher(trust, seconds).start()


def _database_uri(url: str) -> str:
    if url.startswith("postgresql"):
        from .storage.database_url import database_uri
        return database_uri(url)  # also the multi-host form of a primary with standbys
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        import os
        path = os.path.abspath(url[len("sqlite:///"):])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return "sqlite:///" + path
    return url


def _engine_options(settings: Settings) -> dict:
    if not settings.database_url.startswith("postgresql"):
        return {}  # SQLite: a file cannot drop a connection, and the extra round trip would cost every request
    # A server connection can be dropped (restart, failover): test it on checkout. The pool is per
    # process: README "Deploying" has the arithmetic against the server's max_connections.
    return {"pool_pre_ping": True, "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow, "pool_timeout": settings.db_pool_timeout}
