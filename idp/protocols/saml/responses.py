"""The SAML Response sent to a service provider's assertion consumer service: who the person is to
that SP (its NameID), what it may know (the attributes it was allowed) and how she logged in
(AuthnContextClassRef from the session's acr), with the enterprise she acts for when the SP may know
it. Built and signed (response and assertion) by pysaml2."""
from __future__ import annotations

import json
import secrets
import time
from types import SimpleNamespace

from flask_babel import lazy_gettext as N_
from saml2 import BINDING_HTTP_POST
from saml2.mdstore import UnknownSystemEntity
from saml2.s_utils import UnsupportedBinding
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT, NameID
from saml2.samlp import response_from_string
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from ...authn.result import ACR_CERTIFICATE, ACR_HARDWARE_CERTIFICATE, ACR_LEVELS, ACR_PASSWORD
from ...identity.authorisations import ActingContext
from ...identity.claims import acting_attributes, claims_for, subject_for
from ...storage.token_hash import token_hash
from .acting import releases_entity
from .idp_server import NAME_ID_FORMATS, entity_id
from .requests_in import SamlRequestError

# idp's assurance levels as SAML authentication context classes, and back.
PASSWORD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
X509_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509"
SMARTCARD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
CLASS_OF_ACR = {ACR_PASSWORD: PASSWORD_CLASS, ACR_CERTIFICATE: X509_CLASS, ACR_HARDWARE_CERTIFICATE: SMARTCARD_CLASS}
ACR_OF_CLASS = {PASSWORD_CLASS: ACR_PASSWORD, "urn:oasis:names:tc:SAML:2.0:ac:classes:Password": ACR_PASSWORD,
                X509_CLASS: ACR_CERTIFICATE, "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient": ACR_CERTIFICATE,
                SMARTCARD_CLASS: ACR_HARDWARE_CERTIFICATE}
SCOPE_OF_ATTRIBUTE = {"name": "profile", "email": "email", "phone": "phone", "id_number": "idcard"}
SLO_INDEX = "saml_slo"
SLO_RECORD = "saml_slo_sent"


# What a login started at idp asks for: nothing (no request)
_NOTHING_ASKED = SimpleNamespace(protocol_binding=None, assertion_consumer_service_url=None,
                                 assertion_consumer_service_index=None, name_id_policy=None)


def assertion_consumer_url(server, provider, message) -> str:
    """The ACS URL to post the response to: the one the request names, if the SP's metadata lists it;
    the SP's default one for a login started at idp (``message`` None)."""
    if message is None:
        message = _NOTHING_ASKED
    if message.protocol_binding and message.protocol_binding != BINDING_HTTP_POST:
        raise SamlRequestError(N_("responses are sent with the HTTP-POST binding only"))
    try:
        services = server.metadata.assertion_consumer_service(provider.entity_id, BINDING_HTTP_POST) or []
    except (UnsupportedBinding, UnknownSystemEntity):
        services = []
    if message.assertion_consumer_service_url:
        if message.assertion_consumer_service_url not in [s["location"] for s in services]:
            raise SamlRequestError(N_("the AssertionConsumerServiceURL is not in the service provider's metadata"))
        return message.assertion_consumer_service_url
    if message.assertion_consumer_service_index is not None:
        for service in services:
            if str(service.get("index")) == str(message.assertion_consumer_service_index):
                return service["location"]
        raise SamlRequestError(N_("the AssertionConsumerServiceIndex is not in the service provider's metadata"))
    default = [s for s in services if str(s.get("is_default")).lower() == "true"]
    if not (default or services):
        raise SamlRequestError(N_("the service provider's metadata has no HTTP-POST assertion consumer service"))
    return (default or services)[0]["location"]


def requested_acr(message) -> str | None:
    """The lowest idp level that satisfies the request's RequestedAuthnContext (exact or minimum), or
    None when any login will do. Unknown classes alone: None (the SP gets what the session has)."""
    requested = message.requested_authn_context
    if requested is None or not requested.authn_context_class_ref:
        return None
    levels = [ACR_LEVELS[ACR_OF_CLASS[ref.text]] for ref in requested.authn_context_class_ref
              if ref.text in ACR_OF_CLASS]
    if not levels:
        return None
    wanted = min(levels)
    return next(acr for acr, level in ACR_LEVELS.items() if level == wanted)


def name_id_format(server, provider, message) -> str:
    """The NameID format the request asks for, else the first of the SP's metadata we offer."""
    policy = (message or _NOTHING_ASKED).name_id_policy
    if policy is not None and policy.format:
        if policy.format not in NAME_ID_FORMATS:
            raise ValueError(policy.format)
        return policy.format
    try:
        listed = [n["text"] for n in server.metadata[provider.entity_id]["spsso_descriptor"][0]
                  .get("name_id_format", [])]
    except (KeyError, IndexError):
        listed = []
    return next((f for f in listed if f in NAME_ID_FORMATS), NAMEID_FORMAT_PERSISTENT)


def name_id_value(core, person, provider, fmt: str) -> str:
    if fmt == NAMEID_FORMAT_PERSISTENT:
        # pairwise, like an OIDC pairwise subject: another SP cannot link it to this one
        return subject_for(person.public_id, SimpleNamespace(sector_identifier="saml:" + provider.entity_id),
                           core.pairwise_salt)
    if fmt == NAMEID_FORMAT_TRANSIENT:
        return secrets.token_urlsafe(24)
    return person.public_id


def attributes_for(core, person, provider, session, acting: ActingContext | None = None) -> dict:
    """The attributes the SP may receive; ``acting``: the enterprise context the person holds at this
    SP now (released to an SP allowed ``entity``, every value a list of strings)."""
    allowed = [a for a in provider.attributes or [] if a in SCOPE_OF_ATTRIBUTE]
    claims = claims_for(person, " ".join(SCOPE_OF_ATTRIBUTE[a] for a in allowed), None, core.pairwise_salt)
    values = {"name": claims.get("name"), "email": claims.get("email"), "phone": claims.get("phone_number"),
              "id_number": claims.get("id_number")}
    ava = {a: [values[a]] for a in allowed if values.get(a)}
    if "id_number" in ava and claims.get("id_type"):
        ava["id_type"] = [claims["id_type"]]
    ava["acr"] = [session.acr]
    if acting is not None and releases_entity(provider):
        ava.update({name: value if isinstance(value, list) else [value]
                    for name, value in acting_attributes(acting).items()})
    return ava


def _encryption(server, provider) -> dict:
    """pysaml2's arguments for encrypting the assertion to the SP's metadata encryption key (signed
    first, then encrypted). pysaml2 would quietly send it in the clear when the metadata has no such
    key: the registry refuses the switch then, and this refuses to answer."""
    if not provider.encrypt_assertions:
        return {}
    if not server.has_encrypt_cert_in_metadata(provider.entity_id):
        raise RuntimeError(f"SAML SP {provider.entity_id} is to get encrypted assertions but has no encryption key")
    return {"encrypt_assertion": True, "encrypt_assertion_self_contained": True}


def authn_response(core, server, *, provider, person, session, request_id: str, destination: str,
                   fmt: str, acting: ActingContext | None) -> str:
    """The signed Response (signed assertion inside), as XML; the SP is recorded for single logout.
    ``acting``: the enterprise context the person holds at this SP now (``acting.held_context``)."""
    value = name_id_value(core, person, provider, fmt)
    name_id = NameID(format=fmt, name_qualifier=entity_id(core.settings), sp_name_qualifier=provider.entity_id,
                     text=value)
    authn = {"class_ref": CLASS_OF_ACR.get(session.acr, PASSWORD_CLASS), "authn_instant": session.auth_time,
             "authn_auth": entity_id(core.settings)}
    xml = str(server.create_authn_response(
        attributes_for(core, person, provider, session, acting), request_id, destination, provider.entity_id,
        name_id=name_id, authn=authn, sign_response=True, sign_assertion=True,
        sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256, **_encryption(server, provider)))
    session_index = _session_index(xml)
    core.sessions.add_client(session, provider.session_key)
    remaining = max(1, session.expires_at - int(time.time()))
    # the index holds a short name (index members are short); what was sent, of any length, waits
    # beside it in a record of its own
    sent = {"provider_id": provider.id, "name_id": value, "format": fmt, "session_index": session_index}
    member = token_hash(json.dumps(sent, sort_keys=True))
    core.store.put(SLO_RECORD, member, sent, remaining)
    core.store.index_add(SLO_INDEX, session.key, member, remaining)
    return xml


def _session_index(xml: str) -> str | None:
    response = response_from_string(xml)
    for assertion in response.assertion or []:
        for statement in assertion.authn_statement or []:
            return statement.session_index
    return None


def error_response(server, *, request_id: str, destination: str, status: str, text: str) -> str:
    return str(server.create_error_response(request_id, destination, (status, text), sign=True,
                                           sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256))


def issued_in(core, session_key: str) -> list[dict]:
    """What was sent to SPs in a session (for single logout), forgotten as it is read."""
    members = core.store.index_members(SLO_INDEX, session_key)
    core.store.index_clear(SLO_INDEX, session_key)
    sent = (core.store.consume(SLO_RECORD, member) for member in sorted(members))
    return [record for record in sent if record is not None]
