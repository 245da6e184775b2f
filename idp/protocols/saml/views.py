"""SAML 2.0 endpoints under /saml: metadata, single sign-on (HTTP-Redirect and HTTP-POST bindings)
and single logout. Messages are parsed, checked and signed by pysaml2; identity comes from the core."""
from __future__ import annotations

import base64

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.metadata import do_key_descriptor, entity_descriptor
from saml2.samlp import STATUS_AUTHN_FAILED, STATUS_INVALID_NAMEID_POLICY, STATUS_NO_PASSIVE
from saml2.xmldsig import SIG_RSA_SHA256

from ...authn.result import acr_level
from ...extensions import db
from ...http.headers import allow_form_action
from ...identity.models import Person
from ...keys.service import entity_tag
from ...sessions.browser import current_session, end_current_session
from ...sessions.login_transaction import CHOOSE_CONTEXT, LOGIN, STEP_UP, LoginTransaction
from .acting import chooser_needed, held_context, releases_entity
from .idp_server import saml_server
from .providers import provider_by_entity_id
from .requests_in import SamlRequestError, receive
from .responses import assertion_consumer_url, authn_response, error_response, name_id_format, requested_acr
from .signing_keys import active_key

bp = Blueprint("saml", __name__, url_prefix="/saml")
PROTOCOL = "saml"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
METADATA_TYPE = "application/samlmetadata+xml"


def _core():
    return current_app.extensions["idp"]


def _binding() -> str:
    return BINDING_HTTP_POST if request.method == "POST" else BINDING_HTTP_REDIRECT


def _values():
    return request.form if request.method == "POST" else request.args


def _refused(reason: str):
    return render_template("error.html", title=_("This sign-in request cannot be accepted"),
                           description=_("The site sent a request that this server refuses (%(reason)s). Go "
                                         "back to the site and try again; if it happens again, tell the site's "
                                         "administrator.", reason=reason)), 400


def _expired():
    return render_template("error.html", title=_("This login request has expired"),
                           description=_("Go back to the portal and start again.")), 400


def _signed_in():
    session = current_session()
    if session is None:
        return None
    person = db.session.get(Person, session.person_id)
    return session if person is not None and not person.disabled else None


def _post_form(action: str, field: str, xml: str, relay_state: str | None):
    """The page whose form (posted by script, or by a button without one) carries a SAML message."""
    allow_form_action(action)
    params = [(field, base64.b64encode(xml.encode("utf-8")).decode("ascii"))]
    if relay_state:
        params.append(("RelayState", relay_state))
    response = Response(render_template("form_post.html", action=action, params=params))
    response.headers.update(NO_STORE)
    return response


# --- metadata --------------------------------------------------------------------------------------
@bp.get("/metadata")
def metadata():
    core = _core()
    server = saml_server(core)
    key = active_key(core.settings)
    descriptor = entity_descriptor(server.config)
    descriptor.extensions = None  # pysaml2 lists every algorithm xmlsec1 knows, MD5 and SHA-1 included
    idp = descriptor.idpsso_descriptor
    for certificate in key.published[1:]:  # the next key (published before it signs) and the previous one
        idp.key_descriptor.extend(do_key_descriptor(_pem_body(certificate), use="signing"))
    body = str(descriptor).encode("utf-8")
    tag = entity_tag(body)
    if request.if_none_match.contains_weak(tag.strip('"')):
        return Response(status=304, headers={"ETag": tag})
    return Response(body, content_type=METADATA_TYPE, headers={"ETag": tag, "Cache-Control": "max-age=300"})


def _pem_body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))


# --- single sign-on --------------------------------------------------------------------------------
@bp.route("/sso", methods=["GET", "POST"])
def sso():
    core = _core()
    try:
        received = receive(core, "authn", _binding(), _values())
        server = saml_server(core)
        acs = assertion_consumer_url(server, received.provider, received.message)
    except SamlRequestError as error:
        core.audit("saml.request_refused", reason=str(error))
        return _refused(error.reason)
    message, provider = received.message, received.provider
    state = {"entity_id": provider.entity_id, "request_id": message.id, "acs": acs,
             "relay_state": received.relay_state, "force": str(message.force_authn).lower() == "true",
             "acr": requested_acr(message), "session_before": None,
             "passive": str(message.is_passive).lower() == "true"}
    try:
        state["format"] = name_id_format(server, provider, message)
    except ValueError:
        return _error_answer(state, STATUS_INVALID_NAMEID_POLICY, "this NameID format is not offered")
    session = _signed_in()
    if session is not None and not state["force"] and acr_level(session.acr) >= acr_level(state["acr"]):
        return _answer_or_choose(session, state, provider)
    if state["passive"]:
        return _error_answer(state, STATUS_NO_PASSIVE, "a login is needed")
    if session is not None:
        state["session_before"] = [session.key, session.auth_time]
    reason = STEP_UP if session is not None and not state["force"] else LOGIN
    tx = core.logins.start(protocol=PROTOCOL, reason=reason, resume_endpoint="saml.sso_resume",
                           client_name=provider.name, client_id=provider.session_key, return_to=acs,
                           acr_values=[state["acr"]] if state["acr"] else [], state=state)
    return redirect(url_for("web.login", tx=tx.id))


@bp.get("/sso/resume")
def sso_resume():
    core = _core()
    tx = core.logins.load(request.args.get("tx"))
    if tx is None or tx.protocol != PROTOCOL:
        return _expired()
    state = tx.state
    session = _signed_in()
    new_login = (session is not None and tx.login_since_start(session.auth_time)
                 and [session.key, session.auth_time] != state["session_before"])
    if (session is None or (state["force"] and not new_login)
            or acr_level(session.acr) < acr_level(state["acr"])):
        return redirect(url_for("web.login", tx=tx.id))
    provider = provider_by_entity_id(state["entity_id"])
    if provider is not None and chooser_needed(session, provider, state):
        return redirect(url_for("agents.choose", tx=tx.id))
    core.logins.delete(tx.id)
    return _answer(session, state)


def _answer_or_choose(session, state: dict, provider):
    """The answer, or first the page where the person chooses whom she acts for (an SP allowed the
    enterprise context, and something to choose), which comes back to ``sso_resume``."""
    if not chooser_needed(session, provider, state):
        return _answer(session, state)
    tx = _core().logins.start(protocol=PROTOCOL, reason=CHOOSE_CONTEXT, resume_endpoint="saml.sso_resume",
                              client_name=provider.name, client_id=provider.session_key, return_to=state["acs"],
                              acr_values=[state["acr"]] if state["acr"] else [], state=state)
    return redirect(url_for("agents.choose", tx=tx.id))


def _answer(session, state: dict):
    core = _core()
    provider = provider_by_entity_id(state["entity_id"])
    if provider is None:
        return _refused(_("the service provider is no longer registered"))
    person = db.session.get(Person, session.person_id)
    server = saml_server(core)
    # only an enterprise context the person holds at this SP now is asserted
    acting = held_context(session, provider) if releases_entity(provider) else None
    xml = authn_response(core, server, provider=provider, person=person, session=session,
                         request_id=state["request_id"], destination=state["acs"], fmt=state["format"],
                         acting=acting)
    acting_for = {"entity": acting.entity.uscc, "authorisation": acting.authorisation_id} if acting else {}
    core.audit("saml.assertion", provider=provider.id, person=person.public_id, name_id_format=state["format"],
               **acting_for)
    return _post_form(state["acs"], "SAMLResponse", xml, state["relay_state"])


def _error_answer(state: dict, status: str, text: str):
    core = _core()
    xml = error_response(saml_server(core), request_id=state["request_id"], destination=state["acs"],
                         status=status, text=text)
    core.audit("saml.error_response", entity_id=state["entity_id"], status=status)
    return _post_form(state["acs"], "SAMLResponse", xml, state["relay_state"])


def cancelled(tx: LoginTransaction):
    """The person cancelled the login: the SP hears AuthnFailed."""
    return _error_answer(tx.state, STATUS_AUTHN_FAILED, "the person cancelled the login")


# --- single logout ---------------------------------------------------------------------------------
@bp.route("/slo", methods=["GET", "POST"])
def slo():
    """SP-initiated single logout: the SSO session ends at every site (SAML, OIDC, CAS), then the
    browser returns to the SP with its LogoutResponse."""
    core = _core()
    binding = _binding()
    if "SAMLResponse" in _values() and "SAMLRequest" not in _values():
        return _logout_response(core, binding)
    try:
        received = receive(core, "logout", binding, _values())
    except SamlRequestError as error:
        core.audit("saml.request_refused", reason=str(error))
        return _refused(error.reason)
    g.saml_logout_initiator = received.provider.id
    end_current_session()
    server = saml_server(core)
    try:
        args = server.response_args(received.message, [BINDING_HTTP_REDIRECT, BINDING_HTTP_POST])
    except Exception:  # noqa: BLE001 - the SP's metadata names no usable logout endpoint
        return render_template("logged_out.html")
    destination = args["destination"]
    if args["binding"] == BINDING_HTTP_REDIRECT:
        answer = server.create_logout_response(received.message, [BINDING_HTTP_REDIRECT], sign=False)
        http = server.apply_binding(BINDING_HTTP_REDIRECT, str(answer), destination, received.relay_state,
                                    response=True, sign=True, sigalg=SIG_RSA_SHA256)
        location = dict(http["headers"])["Location"]
        response = redirect(location)
        response.headers.update(NO_STORE)
        return response
    answer = server.create_logout_response(received.message, [BINDING_HTTP_POST], sign=True)
    return _post_form(destination, "SAMLResponse", str(answer), received.relay_state)


def _logout_response(core, binding: str):
    """An SP's answer to a front-channel LogoutRequest, arriving in the logged-out page's hidden frame:
    recorded, and answered with an empty 204 (nothing to show in the frame). An unreadable or badly
    signed one gets the refusal page."""
    try:
        answer = saml_server(core).parse_logout_request_response(_values()["SAMLResponse"], binding)
        issuer = answer.response.issuer.text if answer.response.issuer is not None else None
        status = answer.response.status.status_code.value
    except Exception as exc:  # noqa: BLE001 - pysaml2 raises many kinds for a bad message
        core.audit("saml.request_refused", reason=f"logout response: {type(exc).__name__}")
        return _refused(_("the logout response cannot be read"))
    provider = provider_by_entity_id(issuer)
    core.audit("saml.logout_response", provider=provider.id if provider else None, status=status)
    # shown in a frame of idp's own logged-out page: that page may frame it, nothing else may
    return Response(status=204, headers={**NO_STORE, "X-Frame-Options": "SAMEORIGIN",
                                         "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'"})
