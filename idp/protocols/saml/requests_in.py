"""Accepting a SAML request from a service provider: parsed and signature-checked by pysaml2 (on
defusedxml), then the checks this server adds: a registered SP, a signature where the SP requires one,
a fresh IssueInstant, a request ID seen once, an assertion consumer URL from the SP's metadata, and
the XML checks of ``xml_checks`` (signature wrapping, comments, allowed hash functions)."""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from flask_babel import lazy_gettext as N_
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.time_util import str_to_time

from . import xml_checks
from .idp_server import CLOCK_SKEW, saml_server
from .models import SamlServiceProvider
from .providers import provider_by_entity_id

log = logging.getLogger(__name__)
REQUEST_MAX_AGE = 300  # seconds an AuthnRequest or LogoutRequest may take to arrive
SEEN = "saml_seen_request"
MAX_MESSAGE = 64 * 1024
MAX_RELAY_STATE = 2048


class SamlRequestError(Exception):
    """A request that gets no SAML answer (its sender cannot be trusted): a page explains it."""

    def __init__(self, reason):
        super().__init__(str(reason))
        self.reason = reason  # translated when shown


@dataclass
class Received:
    message: object  # the pysaml2 message (AuthnRequest, LogoutRequest)
    provider: SamlServiceProvider
    relay_state: str | None


def _parse(server, kind: str, message: str, binding: str, relay_state, sigalg, signature):
    parse = server.parse_authn_request if kind == "authn" else server.parse_logout_request
    try:
        if kind == "authn":
            parsed = parse(message, binding, relay_state=relay_state, sigalg=sigalg, signature=signature)
        else:
            parsed = parse(message, binding, relay_state=relay_state, sigalg=sigalg, signature=signature)
    except Exception as exc:  # noqa: BLE001 - pysaml2 raises many kinds for a bad message
        causes = _chain(exc)
        names = {type(e).__name__ for e in causes}
        log.info("SAML %s request refused: %s", kind, " <- ".join(f"{type(e).__name__}: {e}" for e in causes))
        if names & {"EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden"}:
            raise SamlRequestError(N_("the request contains XML entities or a DTD, which are refused")) from None
        if names & {"ParseError", "XMLSyntaxError", "BadRequest", "UnravelError", "binascii.Error", "Error",
                    "UnicodeDecodeError", "zlib.error", "TypeError", "ValueError", "AttributeError"} \
                and "SignatureError" not in names:
            raise SamlRequestError(N_("the request cannot be read")) from None
        if names & {"IncorrectlySigned", "SignatureError", "MissingKey"}:
            raise SamlRequestError(N_("the request's signature is missing or does not verify")) from None
        if "OtherError" in names and "destined" in str(exc):
            raise SamlRequestError(N_("the request is addressed to another Destination")) from None
        raise SamlRequestError(N_("the request cannot be read")) from None
    if parsed is None or parsed.message is None:
        raise SamlRequestError(N_("the request cannot be read"))
    return parsed


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first."""
    chain = []
    while exc is not None and len(chain) < 10:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def receive(core, kind: str, binding: str, values) -> Received:
    """``values``: the query (HTTP-Redirect) or form (HTTP-POST) carrying SAMLRequest."""
    message = values.get("SAMLRequest")
    if not message:
        raise SamlRequestError(N_("SAMLRequest is missing"))
    if len(message) > MAX_MESSAGE:
        raise SamlRequestError(N_("the request is too large"))
    relay_state = values.get("RelayState")
    if relay_state is not None and len(relay_state) > MAX_RELAY_STATE:
        raise SamlRequestError(N_("RelayState is too long"))
    sigalg, signature = values.get("SigAlg"), values.get("Signature")
    if binding == BINDING_HTTP_POST:
        sigalg = signature = None
    try:  # before pysaml2 reads it: wrapping, comments and weak hashes get their own reasons
        xml_checks.check(xml_checks.decoded(message, binding), sigalg=sigalg if signature else None,
                         allowed_hashes=core.settings.saml_allowed_hashes)
    except xml_checks.XmlRefused as exc:
        log.info("SAML %s request refused: %s", kind, exc)
        raise SamlRequestError(exc.reason) from None
    parsed = _parse(saml_server(core), kind, message, binding, relay_state, sigalg, signature)
    issuer = parsed.message.issuer.text if parsed.message.issuer is not None else None
    provider = provider_by_entity_id(issuer)
    if provider is None:
        raise SamlRequestError(N_("the service provider %(entity)s is not registered", entity=str(issuer)[:200]))
    signed = signature is not None if binding == BINDING_HTTP_REDIRECT else parsed.message.signature is not None
    if provider.require_signed_requests or signed:
        parsed = _parse(saml_server(core, strict=True), kind, message, binding, relay_state, sigalg, signature)
    _check_instant(parsed.message.issue_instant)
    _check_once(core, provider, parsed.message.id)
    return Received(message=parsed.message, provider=provider, relay_state=relay_state)


def _check_instant(issue_instant) -> None:
    try:
        issued = time.mktime(str_to_time(issue_instant)) - time.mktime(time.gmtime(0))
    except Exception:  # noqa: BLE001
        raise SamlRequestError(N_("the request's IssueInstant is not a valid time")) from None
    now = time.time()
    if issued < now - REQUEST_MAX_AGE - CLOCK_SKEW or issued > now + CLOCK_SKEW:
        raise SamlRequestError(N_("the request's IssueInstant is too old or in the future: start again at the site"))


def _check_once(core, provider: SamlServiceProvider, request_id) -> None:
    if not request_id:
        raise SamlRequestError(N_("the request has no ID"))
    digest = hashlib.sha256(f"{provider.entity_id}\x00{request_id}".encode("utf-8")).hexdigest()
    if not core.store.add(SEEN, digest, {"at": int(time.time())}, REQUEST_MAX_AGE + 2 * CLOCK_SKEW):
        raise SamlRequestError(N_("this request was already used (replayed request ID)"))
