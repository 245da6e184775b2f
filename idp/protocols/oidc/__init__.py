"""OpenID Connect / OAuth 2.0 on Authlib's server classes."""
from __future__ import annotations


def init_oidc(app, core) -> None:
    """The provider's endpoints and pages, its single logout (back-channel) and its answer to a
    cancelled login. The Authlib server itself is created by ``create_app`` (``core.server``)."""
    from ...extensions import csrf
    from .logout import oidc_logout_listener
    from .pages import PROTOCOL, bp as pages_bp, cancelled
    from .views import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)
    app.register_blueprint(pages_bp)  # consent and logout confirmation are forms: CSRF-protected
    from .device import api as device_api_bp, bp as device_bp
    app.register_blueprint(device_api_bp)  # RFC 8628 device authorization, for programs
    csrf.exempt(device_api_bp)
    app.register_blueprint(device_bp)  # the verification page, for people
    if core.settings.registration_enabled:
        from .registration import bp as registration_bp
        app.register_blueprint(registration_bp)
        csrf.exempt(registration_bp)
    core.logout_listeners.append(oidc_logout_listener(core))
    core.logins.on_cancel(PROTOCOL, cancelled)
