"""Certificate login: mutual TLS through a trusted proxy, and signed challenges (USB keys, ``idp-sign``).

    GET  /login/certificate/challenge?tx=   a fresh challenge (JSON for agents, a page for browsers)
    POST /login/certificate/challenge       {challenge_id, tx, certificate, chain, signature, algorithm}
    GET|POST /login/certificate/tls?tx=     log in with the client certificate of the TLS connection

Each login is a short list of steps: read the input, use up the challenge, validate the certificate
(``core.trust``), check the signature, find the account, start or step up the SSO session.
"""
from __future__ import annotations

import base64
import binascii
from urllib.parse import urljoin

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from ..authn.certificate import OTHER_PERSON, CertificateRefused, certificate_login
from ..authn.challenge import TTL, ChallengeError, consume_challenge, issue_challenge, login_tx_of
from ..extensions import csrf, db
from ..identity.models import Entity, Person
from ..pki import CertificateError, CertificateIdentity
from .certificate_messages import refusal_message, refusal_status
from .client_certificate import UntrustedCertificateHeader, presented_certificate
from ..http.client_ip import client_ip
from ..http.endpoints import asks_for_json
from ..http.request_guard import RequestRejected, loads_bounded
from ..sessions.browser import current_session, establish_session, safe_next
from ..sessions.login_transaction import LoginTransaction
from .login_methods import CERTIFICATE, USB_KEY, login_tabs
from .views import after_login_target, allow_return_to_client, expired_login_page

bp = Blueprint("certificate", __name__)
MAX_CHAIN = 8


class Refusal(Exception):
    def __init__(self, code: str, profile: str | None = None):
        self.code, self.profile = code, profile
        super().__init__(code)


def _core():
    return current_app.extensions["idp"]


def _load_tx(tx_id: str | None) -> LoginTransaction | None:
    return _core().logins.load(tx_id)


def _wants_json() -> bool:
    return asks_for_json()


@bp.app_template_global()
def certificate_challenge(tx_id: str | None) -> dict:
    """Issue a challenge while rendering the login page; returns it with its lifetime."""
    core = _core()
    return dict(issue_challenge(core.store, core.settings.issuer, tx_id), ttl=TTL)


# -- signed challenge ------------------------------------------------------------------------------

@bp.get("/login/certificate/challenge")
def challenge():
    tx_id = request.args.get("tx") or None
    if tx_id and _load_tx(tx_id) is None:
        return _refuse(Refusal("login_expired"), tx_id, audit=False)
    if _wants_json():
        issued = certificate_challenge(tx_id)
        return jsonify(challenge_id=issued["challenge_id"], challenge=issued["challenge"],
                       tx=login_tx_of(issued), expires_in=TTL,
                       login_url=urljoin(request.url_root, url_for("certificate.challenge_login")))
    return render_template("login.html", **_login_context(tx_id, USB_KEY))


@bp.post("/login/certificate/challenge")
def challenge_login():
    data = request.get_json(silent=True) if request.is_json else None
    if data is None:
        csrf.protect()  # a browser form: login CSRF would sign the victim in as someone else
        data = _form_input()
    tx_id = data.get("tx") if isinstance(data, dict) else None
    tx_id = tx_id if isinstance(tx_id, str) and tx_id else None
    try:
        challenge_id, certificate, chain, signature, algorithm = _signed_input(data)
        record = consume_challenge(_core().store, challenge_id, tx_id)
        identity = _authenticate(certificate, chain)
        try:
            used = _core().trust.verify_challenge(identity, record["challenge"].encode("utf-8"), signature)
            if algorithm and algorithm != used:
                raise Refusal("bad_signature", identity.profile)
        except CertificateError as exc:
            raise Refusal(exc.code, identity.profile) from None
        return _complete(identity, login_tx_of(record))
    except ChallengeError as exc:
        return _refuse(Refusal(exc.code), tx_id)
    except Refusal as exc:
        return _refuse(exc, tx_id)


def _form_input() -> dict:
    signed = request.form.get("signed", "").strip()
    data: dict = {}
    if signed:
        try:
            data = loads_bounded(signed)
        except (ValueError, RequestRejected):
            data = {"malformed": True}
        if not isinstance(data, dict):
            data = {"malformed": True}
    for key in ("certificate", "signature", "algorithm"):
        if request.form.get(key):
            data[key] = request.form[key]
    if request.form.getlist("chain"):
        data["chain"] = request.form.getlist("chain")
    data["challenge_id"] = request.form.get("challenge_id", "")
    data["tx"] = request.form.get("tx", "")
    return data


def _signed_input(data) -> tuple[str, str, list[str], bytes, str | None]:
    if not isinstance(data, dict):
        raise Refusal("invalid_request")
    if data.get("malformed"):
        raise Refusal("malformed")
    challenge_id, certificate = data.get("challenge_id"), data.get("certificate")
    chain, signature, algorithm = data.get("chain") or [], data.get("signature"), data.get("algorithm")
    if not isinstance(challenge_id, str) or not challenge_id or not certificate or not signature:
        raise Refusal("invalid_request")
    if isinstance(chain, str):
        chain = [chain]
    if not isinstance(certificate, str) or not isinstance(signature, str) or not isinstance(chain, list) \
            or not all(isinstance(c, str) for c in chain) or not isinstance(algorithm, (str, type(None))):
        raise Refusal("malformed")
    if len(chain) > MAX_CHAIN or len(signature) > 4096:
        raise Refusal("too_large")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal("malformed") from None
    return challenge_id, certificate, chain, raw_signature, algorithm


# -- mutual TLS ------------------------------------------------------------------------------------

@bp.route("/login/certificate/tls", methods=["GET", "POST"])
def tls_login():
    tx_id = request.values.get("tx") or None
    if tx_id and _load_tx(tx_id) is None:
        return _refuse(Refusal("login_expired"), tx_id, audit=False)
    try:
        try:
            pem = presented_certificate()
        except UntrustedCertificateHeader:
            raise Refusal("untrusted_proxy") from None
        except CertificateError as exc:
            raise Refusal(exc.code) from None
        if pem is None:
            raise Refusal("no_certificate")
        return _complete(_authenticate(pem, ()), tx_id)
    except Refusal as exc:
        return _refuse(exc, tx_id)


# -- shared steps ----------------------------------------------------------------------------------

def _authenticate(certificate, chain) -> CertificateIdentity:
    trust = _core().trust
    trust.reload_if_changed()
    try:
        return trust.authenticate(certificate, chain)
    except CertificateError as exc:
        raise Refusal(exc.code) from None


def _complete(identity: CertificateIdentity, tx_id: str | None):
    """Find the account, enforce step-up rules, start or step up the SSO session."""
    core = _core()
    tx = _load_tx(tx_id) if tx_id else None
    if tx_id and tx is None:
        raise Refusal("login_expired", identity.profile)
    session = current_session()
    try:
        auth = certificate_login(identity, session_person_id=session.person_id if session else None)
    except CertificateRefused as exc:
        raise Refusal(exc.code, identity.profile) from None
    if tx and tx.step_up and session is not None and session.person_id != auth.person_id:
        raise Refusal(OTHER_PERSON, identity.profile)
    person = db.session.get(Person, auth.person_id)
    entity = db.session.get(Entity, auth.entity_id) if auth.entity_id else None
    core.audit("login.success", method="certificate", acr=auth.acr, amr=list(auth.amr), ip=client_ip(),
               client_id=_client_id(tx), person=person.public_id, profile=identity.profile,
               issuer=identity.issuer, serial=identity.serial,
               entity=entity.public_id if entity else None, step_up=bool(tx and tx.step_up))
    target = after_login_target(tx, None if tx_id else _requested_next())
    response = establish_session(auth, target)
    if not _wants_json():
        return response
    body = jsonify(redirect_to=urljoin(request.url_root, target), acr=auth.acr, amr=list(auth.amr))
    for cookie in response.headers.getlist("Set-Cookie"):
        body.headers.add("Set-Cookie", cookie)
    return body


def _requested_next() -> str | None:
    """The local page to return to after a login started outside OIDC (e.g. the admin console)."""
    data = request.get_json(silent=True) if request.is_json else None
    value = data.get("next") if isinstance(data, dict) else request.values.get("next")
    return safe_next(value) if isinstance(value, str) else None


def _refuse(refusal: Refusal, tx_id: str | None, *, audit: bool = True):
    tx = _load_tx(tx_id)
    if audit:
        _core().audit("login.failure", method="certificate", reason=refusal.code, profile=refusal.profile,
                      ip=client_ip(), client_id=_client_id(tx))
    status = refusal_status(refusal.code)
    message = refusal_message(refusal.code)
    if _wants_json():
        return jsonify(error=refusal.code, error_description=message), status
    if tx_id and tx is None:
        return expired_login_page()
    method = CERTIFICATE if request.endpoint == "certificate.tls_login" else USB_KEY
    return render_template("login.html", error=message, **_login_context(tx_id if tx else None, method)), status


def _login_context(tx_id: str | None, method: str) -> dict:
    """The login page again, with the tab and method the person was using open."""
    tx = _load_tx(tx_id)
    needs_certificate = bool(tx and tx.step_up)
    allow_return_to_client(tx)
    return {"tx": tx_id if tx else None, "client_name": tx.client_name if tx else None,
            "needs_certificate": needs_certificate, "username": "", "next": None if tx else _requested_next(),
            **login_tabs(request.values.get("tab"), method, needs_certificate=needs_certificate)}


def _client_id(tx: LoginTransaction | None) -> str | None:
    return tx.client_id if tx else None
