"""The IdP's SAML signing key: RSA-2048 with a self-signed certificate (what SAML metadata publishes),
stored sealed with the master key like the OIDC signing keys, rotated by the operator.

The keys follow the life cycle of the OIDC signing keys (idp.keys.lifecycle): a rotation publishes a
new key in the metadata (``pending``, the next key) for ``IDP_KEY_PREPUBLISH_SECONDS`` before it signs,
so service providers that refresh their metadata learn it first; then it becomes the signing key and
the one before it stays published (``previous``) until the next rotation retires it. An immediate
rotation (a compromised key) signs with the new key at once. Whether the period is over is decided
at every use from the rows' creation times, so every process switches at the same moment.

xmlsec1 (which pysaml2 drives) reads the key from a file: the active key is written, unsealed, to a
directory of this process readable only by its user, and removed when the process ends.
"""
from __future__ import annotations

import atexit
import datetime as dt
import os
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from ...audit.log import record as audit_record
from ...errors import ConfigError, ValidationError
from ...extensions import db
from ...identity.models import utcnow
from ...keys.lifecycle import Lifecycle, apply_due_transitions
from ...keys.sealing import load_master_key, seal, unseal
from .models import KEY_ACTIVE, KEY_PENDING, KEY_PREVIOUS, KEY_RETIRED, SamlSigningKey

CERTIFICATE_YEARS = 10  # SAML metadata pins the certificate; its dates are not what SPs check
_lock = threading.Lock()
_directory: str | None = None


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    key_file: str
    cert_file: str
    published: tuple[str, ...]  # PEM certificates in the metadata: the active one first, then the next, the previous


def _context(kid: str) -> str:
    return f"saml:{kid}"


def _new_key(common_name: str) -> tuple[str, bytes, str]:
    kid = secrets.token_hex(8)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "idp")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365 * CERTIFICATE_YEARS))
            .sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return kid, pem, cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _published_rows() -> list[SamlSigningKey]:
    return list(db.session.scalars(select(SamlSigningKey).where(SamlSigningKey.status != KEY_RETIRED)
                                   .order_by(SamlSigningKey.id.desc())))


def lifecycle(settings) -> Lifecycle:
    """The OIDC keys' pre-publication period; a previous key stays published until the next rotation."""
    return Lifecycle(prepublish_seconds=settings.key_prepublish_seconds, retain_seconds=None)


def apply_transitions(settings) -> None:
    """Make a pending key whose pre-publication period is over the signing key (once, whichever
    process gets there first: each step is a conditional UPDATE)."""
    with db.engine.begin() as conn:
        changes = apply_due_transitions(conn, lifecycle(settings), utcnow(), table=SamlSigningKey.__table__)
    if changes:
        for obj in list(db.session.identity_map.values()):
            if isinstance(obj, SamlSigningKey):
                db.session.expire(obj)
    for change in changes:
        audit_record("saml." + change["event"], kid=change["kid"], replaces=change.get("replaces", []))


def rotate(settings, *, immediate: bool = False) -> SamlSigningKey:
    """Create the next signing key. It is published at once and signs once the pre-publication period
    is over (at once with ``immediate``, a period of 0, or no current key); the key that signs until
    then stays published as previous, and the one before it is retired now."""
    apply_transitions(settings)
    rows = _published_rows()
    waiting = next((r for r in rows if r.status == KEY_PENDING), None)
    if waiting is not None and not immediate:
        raise ValidationError(f"SAML key {waiting.kid} is already waiting to sign from "
                              f"{lifecycle(settings).activates_at(waiting).isoformat()}; rotate with --now "
                              "to replace it at once")
    current = [r for r in rows if r.status == KEY_ACTIVE]
    at_once = immediate or settings.key_prepublish_seconds == 0 or not current
    now = utcnow()
    for row in rows:
        if row.status == KEY_ACTIVE and at_once:
            row.status, row.deactivated_at = KEY_PREVIOUS, now
        elif row.status != KEY_ACTIVE:
            row.status = KEY_RETIRED
    kid, pem, cert = _new_key(_common_name(settings))
    row = SamlSigningKey(kid=kid, status=KEY_ACTIVE if at_once else KEY_PENDING, certificate=cert,
                         private_key=seal(load_master_key(settings), pem, _context(kid)), created_at=now,
                         activated_at=now if at_once else None)
    db.session.add(row)
    db.session.commit()
    audit_record("saml.key.rotated", kid=kid, status=row.status,
                 activates_at=None if at_once else lifecycle(settings).activates_at(row).isoformat())
    return row


def activates_at(settings, row: SamlSigningKey):
    return lifecycle(settings).activates_at(row)


def _common_name(settings) -> str:
    from urllib.parse import urlsplit
    return urlsplit(settings.issuer).hostname or "idp"


def list_keys() -> list[SamlSigningKey]:
    return list(db.session.scalars(select(SamlSigningKey).order_by(SamlSigningKey.id)))


def active_key(settings) -> ActiveKey:
    """The signing key as files for xmlsec1 (created on first use), with the certificates to publish."""
    apply_transitions(settings)
    rows = _published_rows()
    active = next((r for r in rows if r.status == KEY_ACTIVE), None)
    if active is None:
        active = rotate(settings)
        rows = _published_rows()
    directory = _key_directory()
    key_file = os.path.join(directory, f"{active.kid}.key")
    cert_file = os.path.join(directory, f"{active.kid}.crt")
    with _lock:
        if not os.path.exists(key_file):
            pem = _unseal(settings, active)
            fd = os.open(key_file + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
            with open(cert_file, "w", encoding="ascii") as out:
                out.write(active.certificate)
            os.replace(key_file + ".tmp", key_file)
    order = {KEY_PENDING: 0, KEY_PREVIOUS: 1}
    others = tuple(r.certificate for r in sorted(rows, key=lambda r: order.get(r.status, 2)) if r.kid != active.kid)
    return ActiveKey(kid=active.kid, key_file=key_file, cert_file=cert_file,
                     published=(active.certificate, *others))


def _unseal(settings, row: SamlSigningKey) -> bytes:
    masters = [load_master_key(settings)]
    if settings.master_key_previous:
        masters.append(settings.master_key_previous)
    error = None
    for master in masters:
        try:
            return unseal(master, row.private_key, _context(row.kid))
        except ConfigError as exc:
            error = exc
    raise error


def _key_directory() -> str:
    global _directory
    with _lock:
        if _directory is None or not os.path.isdir(_directory):
            _directory = tempfile.mkdtemp(prefix="idp-saml-")  # mode 0700
            atexit.register(shutil.rmtree, _directory, True)
        return _directory
