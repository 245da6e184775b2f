"""Passkeys (WebAuthn, through py_webauthn): registering one for the person logged in, and logging in
with one, without a username (discoverable credentials) or as the second factor after a password.

The relying party is the issuer: its host is the RP ID, its origin the only origin accepted. Every
ceremony's challenge is kept in the ephemeral store under a random id, single use, for ``TTL`` seconds.

Assurance: a passkey whose authenticator verified the person (PIN or biometrics, the UV flag) is two
factors at once and reaches ``ACR_MFA``; without user verification it is one factor
(``ACR_PASSWORD``'s level) unless the session already holds the person's password. ``amr`` (RFC 8176):
``hwk`` for a key bound to one device, ``swk`` for a synced (backup-eligible) one, ``user`` when the
person was verified, ``mfa`` when two factors were used.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import timezone, datetime
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from webauthn import (generate_authentication_options, generate_registration_options, options_to_json,
                      verify_authentication_response, verify_registration_response)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.parse_authentication_credential_json import parse_authentication_credential_json
from webauthn.helpers.structs import (AuthenticatorSelectionCriteria, CredentialDeviceType,
                                      PublicKeyCredentialDescriptor, ResidentKeyRequirement,
                                      UserVerificationRequirement)

from ..errors import AuthnError
from ..extensions import db
from ..identity.models import Person
from ..identity.passkeys import NAME_MAX, Passkey
from .authenticator import LoginContext
from .result import ACR_MFA, ACR_PASSWORD, AuthResult
from .throttle import LoginThrottle

METHOD = "passkey"
KIND = "webauthn"
TTL = 300
MAX_PER_PERSON = 20
RESPONSE_MAX = 64 * 1024

CEREMONY_EXPIRED = "passkey_ceremony_expired"  # unknown, used or expired challenge
MALFORMED = "passkey_malformed"
UNKNOWN = "passkey_unknown"                    # no such credential registered here
INVALID = "passkey_invalid"                    # signature, RP ID, origin, challenge or flags wrong
POSSIBLE_CLONE = "passkey_possible_clone"      # signature counter went backwards
ACCOUNT_DISABLED = "account_disabled"
DIFFERENT_PERSON = "different_person"
TOO_MANY = "passkey_too_many"
ALREADY_REGISTERED = "passkey_already_registered"


class PasskeyError(AuthnError):
    """A registration or login ceremony was refused (an ``AuthnError``, so pages map its code alike)."""


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str
    name: str

    @classmethod
    def of_issuer(cls, issuer: str, name: str = "") -> "RelyingParty":
        parts = urlsplit(issuer)
        return cls(id=parts.hostname or "", origin=f"{parts.scheme}://{parts.netloc}", name=name or parts.hostname or "")


# -- ceremonies' challenges --------------------------------------------------------------------------

def _begin(store, purpose: str, challenge: bytes, **facts) -> str:
    ceremony = secrets.token_urlsafe(24)
    store.put(KIND, ceremony, {"purpose": purpose, "challenge": bytes_to_base64url(challenge), **facts}, TTL)
    return ceremony


def _finish(store, ceremony: str, purpose: str) -> dict:
    record = store.consume(KIND, ceremony) if isinstance(ceremony, str) and 0 < len(ceremony) <= 64 else None
    if not record or record.get("purpose") != purpose:
        raise PasskeyError(CEREMONY_EXPIRED, "the passkey challenge is unknown, used or expired")
    return record


def _parse_json(response) -> dict:
    if isinstance(response, str):
        if len(response) > RESPONSE_MAX:
            raise PasskeyError(MALFORMED, "the passkey response is too large")
        try:
            response = json.loads(response)
        except ValueError:
            raise PasskeyError(MALFORMED, "the passkey response is not JSON") from None
    if not isinstance(response, dict):
        raise PasskeyError(MALFORMED, "the passkey response is not a JSON object")
    return response


# -- registration ------------------------------------------------------------------------------------

def registration_options(store, rp: RelyingParty, person: Person) -> tuple[str, dict]:
    """Options for ``navigator.credentials.create`` (as JSON-ready dict) and the ceremony id."""
    existing = db.session.scalars(db.select(Passkey).where(Passkey.person_id == person.id)).all()
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_id=person.public_id.encode("ascii"),
        user_name=person.email or person.phone or person.public_id, user_display_name=person.name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
                             for p in existing],
        timeout=TTL * 1000)
    ceremony = _begin(store, "register", options.challenge, person_id=person.id)
    return ceremony, json.loads(options_to_json(options))


def register(store, rp: RelyingParty, person: Person, ceremony: str, response, name: str) -> Passkey:
    """Verify the authenticator's answer to ``registration_options`` and keep the new passkey."""
    record = _finish(store, ceremony, "register")
    if record.get("person_id") != person.id:
        raise PasskeyError(CEREMONY_EXPIRED, "the passkey challenge was issued to another person")
    data = _parse_json(response)
    count = db.session.scalar(db.select(db.func.count()).select_from(Passkey).where(Passkey.person_id == person.id))
    if count >= MAX_PER_PERSON:
        raise PasskeyError(TOO_MANY, f"at most {MAX_PER_PERSON} passkeys per person")
    try:
        verified = verify_registration_response(
            credential=data, expected_challenge=base64url_to_bytes(record["challenge"]),
            expected_rp_id=rp.id, expected_origin=rp.origin)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyError(INVALID, f"the passkey registration could not be verified: {exc}") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(db.select(Passkey.id).where(Passkey.credential_id == credential_id)) is not None:
        raise PasskeyError(ALREADY_REGISTERED, "this passkey is already registered")
    response_part = data.get("response") if isinstance(data.get("response"), dict) else {}
    transports = response_part.get("transports") if isinstance(response_part.get("transports"), list) else []
    passkey = Passkey(
        person_id=person.id, credential_id=credential_id, public_key=verified.credential_public_key,
        sign_count=verified.sign_count, aaguid=str(verified.aaguid)[:36],
        transports=",".join(t for t in transports if isinstance(t, str) and t.isalnum())[:200],
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=bool(verified.credential_backed_up),
        name=clean_name(name) or default_name(verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE))
    db.session.add(passkey)
    try:
        db.session.commit()
    except IntegrityError:  # registered by another request since the check above: the unique id decides
        db.session.rollback()
        raise PasskeyError(ALREADY_REGISTERED, "this passkey is already registered") from None
    return passkey


def clean_name(name) -> str:
    if not isinstance(name, str):
        return ""
    return "".join(c for c in name if c.isprintable()).strip()[:NAME_MAX]


def default_name(synced: bool) -> str:
    return "Synced passkey" if synced else "Passkey"


def passkeys_of(person_id: int) -> list[Passkey]:
    return list(db.session.scalars(db.select(Passkey).where(Passkey.person_id == person_id)
                                   .order_by(Passkey.created_at, Passkey.id)))


def remove(person_id: int, passkey_id: int) -> Passkey | None:
    """Remove one of the person's passkeys; None when the person has no passkey of that id."""
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.person_id != person_id:
        return None
    db.session.delete(passkey)
    db.session.commit()
    return passkey


# -- login ---------------------------------------------------------------------------------------------

def login_options(store, rp: RelyingParty, tx_id: str | None = None) -> tuple[str, dict]:
    """Options for ``navigator.credentials.get`` with no allowed list: the authenticator offers the
    discoverable credentials it holds for this RP, so no username is typed."""
    options = generate_authentication_options(rp_id=rp.id, timeout=TTL * 1000,
                                              user_verification=UserVerificationRequirement.PREFERRED)
    ceremony = _begin(store, "login", options.challenge, tx=tx_id)
    return ceremony, json.loads(options_to_json(options))


@dataclass(frozen=True)
class PasskeyAssertion:
    ceremony: str
    response: str | dict = field(repr=False)
    tx: str | None = None
    session_amr: tuple[str, ...] = ()  # the amr of the browser's session, used when it is the same person's


class PasskeyAuthenticator:
    method = METHOD

    def __init__(self, store, rp: RelyingParty, throttle: LoginThrottle):
        self.store, self.rp, self.throttle = store, rp, throttle

    def authenticate(self, credentials: PasskeyAssertion, context: LoginContext) -> AuthResult:
        record = _finish(self.store, credentials.ceremony, "login")
        if (record.get("tx") or None) != (credentials.tx or None):
            raise PasskeyError(CEREMONY_EXPIRED, "the passkey challenge belongs to another login")
        data = _parse_json(credentials.response)
        try:
            parsed = parse_authentication_credential_json(data)
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise PasskeyError(MALFORMED, "the passkey response is malformed") from None
        credential_id = bytes_to_base64url(parsed.raw_id)
        account = "passkey:" + credential_id
        self.throttle.check(account, context.ip)
        passkey = db.session.scalar(db.select(Passkey).where(Passkey.credential_id == credential_id))
        if passkey is None:
            self.throttle.failure(account, context.ip)
            raise PasskeyError(UNKNOWN, "no passkey with this credential id is registered",
                               details={"credential": credential_id[:64]})
        person = db.session.get(Person, passkey.person_id)
        facts = {"person": person.public_id, "passkey": passkey.id}
        handle = parsed.response.user_handle
        if handle is not None and handle != person.public_id.encode("ascii"):
            self.throttle.failure(account, context.ip)
            raise PasskeyError(INVALID, "the passkey names another user", details=facts)
        try:
            verified = verify_authentication_response(
                credential=parsed, expected_challenge=base64url_to_bytes(record["challenge"]),
                expected_rp_id=self.rp.id, expected_origin=self.rp.origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=0)  # the counter is compared below, after the signature
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            self.throttle.failure(account, context.ip)
            raise PasskeyError(INVALID, f"the passkey assertion could not be verified: {exc}", details=facts) from None
        if (verified.new_sign_count or passkey.sign_count) and verified.new_sign_count <= passkey.sign_count:
            raise _possible_clone(facts, passkey.sign_count, verified.new_sign_count)
        if person.disabled:
            raise PasskeyError(ACCOUNT_DISABLED, "the account is disabled", details=facts)
        if context.step_up and context.session_person_id not in (None, person.id):
            raise PasskeyError(DIFFERENT_PERSON, "the passkey belongs to someone else", details=facts)
        if not _counted(passkey, verified):
            stored = db.session.scalar(db.select(Passkey.sign_count).where(Passkey.id == passkey.id))
            if stored is None:
                raise PasskeyError(UNKNOWN, "the passkey was removed", details=facts)
            raise _possible_clone(facts, stored, verified.new_sign_count)
        self.throttle.success(account)
        same_session = context.session_person_id == person.id
        acr, amr = assurance(passkey, verified.user_verified,
                             credentials.session_amr if same_session else ())
        return AuthResult(person_id=person.id, method=METHOD, acr=acr, amr=amr,
                          details=dict(facts, user_verified=verified.user_verified))


def assurance(passkey: Passkey, user_verified: bool, session_amr: tuple[str, ...] = ()) -> tuple[str, tuple[str, ...]]:
    """The acr and amr of a passkey login (see the module's description)."""
    key = "swk" if passkey.backup_eligible else "hwk"
    had_password = "pwd" in session_amr
    amr = (["pwd"] if had_password else []) + [key] + (["user"] if user_verified else [])
    if user_verified or had_password:
        amr.append("mfa")
        return ACR_MFA, tuple(amr)
    return ACR_PASSWORD, tuple(amr)



def _possible_clone(facts: dict, stored: int, presented: int) -> PasskeyError:
    return PasskeyError(POSSIBLE_CLONE, "the signature counter did not increase: possible clone",
                        details=dict(facts, stored_count=stored, presented_count=presented))


def _counted(passkey: Passkey, verified) -> bool:
    """Store the use of ``passkey`` only if its signature counter is still below the presented one (or both
    are unused, 0): compare and set, so two assertions with the same counter that arrive at once (an
    authenticator and its copy) cannot both pass the check made on what each request read. False when
    another request counted first, or the passkey was removed meanwhile."""
    presented = verified.new_sign_count
    still = Passkey.sign_count < presented if presented else Passkey.sign_count == 0
    counted = db.session.execute(db.update(Passkey).where(Passkey.id == passkey.id, still).values(
        sign_count=presented, backed_up=bool(verified.credential_backed_up),
        last_used_at=datetime.now(timezone.utc)).execution_options(synchronize_session=False))
    db.session.commit()
    return counted.rowcount == 1
