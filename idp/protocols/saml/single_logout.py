"""SAML single logout towards service providers: when an SSO session ends (logout at any site, OIDC,
CAS or SAML), each SP that received an assertion in it gets a signed LogoutRequest for that NameID
and SessionIndex over the SOAP back-channel (what mod_auth_mellon and Shibboleth SP accept), posted
through the server's logout delivery queue (stored, sent by one node, retried by the ``backchannel.retry``
job like OIDC and CAS logout messages). The SP that started the logout itself gets its LogoutResponse instead."""
from __future__ import annotations

import logging

from flask import g, has_request_context
from saml2 import BINDING_HTTP_REDIRECT, BINDING_SOAP
from saml2.s_utils import UnsupportedBinding
from saml2.mdstore import UnknownSystemEntity
from saml2.pack import make_soap_enveloped_saml_thingy
from saml2.saml import NameID
from saml2.samlp import STATUS_SUCCESS, logout_request_from_string, logout_response_from_string
from saml2.soap import parse_soap_enveloped_saml_logout_request, parse_soap_enveloped_saml_logout_response
from saml2.xmldsig import SIG_RSA_SHA256

from ...sessions.logout import add_front_channel_logout

from .idp_server import entity_id, saml_server
from .providers import get_provider
from .responses import issued_in

log = logging.getLogger(__name__)


ANSWER_CHECK = "saml-logout"
SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"


def answer_check(outgoing, response) -> str | None:
    """The check of an SP's answer to a queued SOAP LogoutRequest: None when it says Success to it."""
    request_id = logout_request_from_string(parse_soap_enveloped_saml_logout_request(outgoing.message)).id
    status = _status(response, request_id)
    return None if status == STATUS_SUCCESS else f"HTTP {response.status_code}, status {status}"


def _status(response, request_id: str) -> str | None:
    """The status of the SP's LogoutResponse to ``request_id`` (None when there is none).

    Its signature is not checked: the answer only decides whether the request is sent again (the
    session has ended whatever the SP says), and pysaml2 re-serializes the SOAP body when it unwraps
    it, which breaks the signatures other SAML software makes."""
    if response.status_code != 200:
        return None
    try:
        answer = logout_response_from_string(parse_soap_enveloped_saml_logout_response(response.text))
        if answer.in_response_to != request_id:
            return None
        return answer.status.status_code.value
    except Exception as exc:  # noqa: BLE001 - not a SOAP LogoutResponse
        log.info("unreadable SAML LogoutResponse: %s: %s", type(exc).__name__, exc)
        return None


def _endpoint(server, provider, binding) -> str | None:
    try:
        services = server.metadata.single_logout_service(provider.entity_id, binding, "spsso") or []
    except (UnsupportedBinding, UnknownSystemEntity):
        services = []
    return services[0]["location"] if services else None


def _logout_request(core, server, provider, entry, url: str, *, sign: bool):
    name_id = NameID(format=entry["format"], name_qualifier=entity_id(core.settings),
                     sp_name_qualifier=provider.entity_id, text=entry["name_id"])
    _request_id, request = server.create_logout_request(
        url, provider.entity_id, name_id=name_id, reason="urn:oasis:names:tc:SAML:2.0:logout:user",
        session_indexes=[entry["session_index"]] if entry.get("session_index") else None, sign=sign)
    return request


def saml_logout_listener(core):
    """SOAP to an SP whose metadata has a SOAP logout endpoint (through the delivery queue); otherwise,
    when the logout happens in a browser, an HTTP-Redirect LogoutRequest (signed in the query) that the
    logged-out page loads in a hidden frame. An SP with neither (or only HTTP-POST) is not told: its
    own session ends when it next asks idp."""
    def notify(ended) -> None:
        entries = issued_in(core, ended.key)
        if not entries:
            return
        initiator = g.get("saml_logout_initiator") if g else None
        server = saml_server(core)
        for entry in entries:
            provider = get_provider(entry["provider_id"])
            if provider is None or not provider.single_logout or provider.id == initiator:
                continue
            url = _endpoint(server, provider, BINDING_SOAP)
            if url is not None:
                request = _logout_request(core, server, provider, entry, url, sign=True)
                envelope = make_soap_enveloped_saml_thingy(str(request))
                core.notifier.send_raw(provider.session_key, url, envelope, SOAP_CONTENT_TYPE,
                                       answer_check=ANSWER_CHECK)
                core.audit("saml.logout_request", provider=provider.id, channel="back")
                continue
            url = _endpoint(server, provider, BINDING_HTTP_REDIRECT)
            if url is not None and has_request_context():
                request = _logout_request(core, server, provider, entry, url, sign=False)
                http = server.apply_binding(BINDING_HTTP_REDIRECT, str(request), url, relay_state=None,
                                            sign=True, sigalg=SIG_RSA_SHA256)
                add_front_channel_logout(dict(http["headers"])["Location"])
                core.audit("saml.logout_request", provider=provider.id, channel="front")
    return notify
