"""IdP-initiated login: ``/saml/idp-initiated?sp=<entityID>&RelayState=...`` signs the person in (if
needed) and posts an unsolicited Response (no InResponseTo) to the SP's default assertion consumer
service. Only for service providers registered with the ``idp_initiated`` switch: for the others the
link is refused, so a page elsewhere cannot push assertions at an SP that did not ask for them."""
from __future__ import annotations

from flask import redirect, request, url_for
from flask_babel import gettext as _

from ...sessions.login_transaction import LOGIN
from .idp_server import saml_server
from .providers import provider_by_entity_id
from .requests_in import MAX_RELAY_STATE, SamlRequestError
from .responses import assertion_consumer_url, name_id_format
from .views import PROTOCOL, _answer_or_choose, _core, _refused, _signed_in, bp


@bp.get("/idp-initiated")
def idp_initiated():
    core = _core()
    entity, relay_state = request.args.get("sp"), request.args.get("RelayState")
    if not entity:
        return _refused(_("the link does not say which service provider to sign in to"))
    if relay_state is not None and len(relay_state) > MAX_RELAY_STATE:
        return _refused(_("RelayState is too long"))
    provider = provider_by_entity_id(entity)
    if provider is None:
        return _refused(_("the link names a service provider that is not registered"))
    if not provider.idp_initiated:
        return _refused(_("this service provider does not accept logins started here"))
    server = saml_server(core)
    try:
        acs = assertion_consumer_url(server, provider, None)
    except SamlRequestError as error:
        return _refused(error.reason)
    state = {"entity_id": provider.entity_id, "request_id": None, "acs": acs, "relay_state": relay_state,
             "force": False, "acr": None, "session_before": None, "passive": False,
             "format": name_id_format(server, provider, None)}
    core.audit("saml.idp_initiated", provider=provider.id)
    session = _signed_in()
    if session is not None:
        return _answer_or_choose(session, state, provider)
    tx = core.logins.start(protocol=PROTOCOL, reason=LOGIN, resume_endpoint="saml.sso_resume",
                           client_name=provider.name, client_id=provider.session_key, return_to=acs,
                           acr_values=[], state=state)
    return redirect(url_for("web.login", tx=tx.id))
