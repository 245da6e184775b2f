"""SAML 2.0 identity provider (pysaml2 with xmlsec1) for department systems that speak SAML: Web
Browser SSO over the HTTP-Redirect and HTTP-POST bindings (and IdP-initiated, for the SPs allowed it),
single logout, metadata at /saml/metadata."""
from __future__ import annotations


def init_saml(app, core) -> None:
    from ...extensions import csrf
    from . import idp_initiated  # noqa: F401  (its route, on the SAML blueprint)
    from .signing_keys import apply_transitions
    from .single_logout import ANSWER_CHECK, answer_check, saml_logout_listener
    from .views import PROTOCOL, bp, cancelled

    app.register_blueprint(bp)
    csrf.exempt(bp)  # SAML messages are posted by other sites; they carry their own signatures
    core.notifier.answer_checks[ANSWER_CHECK] = answer_check
    core.logout_listeners.append(saml_logout_listener(core))
    core.site_name_resolvers.append(_provider_name)
    core.logins.on_cancel(PROTOCOL, cancelled)
    core.key_transitions.append(lambda: apply_transitions(core.settings))


def _provider_name(key: str) -> str | None:
    from .providers import provider_by_key

    provider = provider_by_key(key)
    return provider.name if provider is not None else None
