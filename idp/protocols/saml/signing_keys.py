"""The IdP's SAML signing key: RSA-2048 with a self-signed certificate (what SAML metadata publishes),
stored sealed with the master key like the OIDC signing keys, rotated by the operator.

A rotation makes a new key the signing key and keeps the one before it published in the metadata
(``previous``), so a service provider that verifies with either certificate keeps working while it
refreshes the metadata; the rotation after that retires it.

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

from ...errors import ConfigError
from ...extensions import db
from ...keys.sealing import load_master_key, seal, unseal
from .models import KEY_ACTIVE, KEY_PREVIOUS, KEY_RETIRED, SamlSigningKey

CERTIFICATE_YEARS = 10  # SAML metadata pins the certificate; its dates are not what SPs check
_lock = threading.Lock()
_directory: str | None = None


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    key_file: str
    cert_file: str
    published: tuple[str, ...]  # PEM certificates in the metadata: the active one first


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


def rotate(settings) -> SamlSigningKey:
    """Create a new signing key; the former active key stays published, older ones are retired."""
    kid, pem, cert = _new_key(_common_name(settings))
    for row in _published_rows():
        row.status = KEY_PREVIOUS if row.status == KEY_ACTIVE else KEY_RETIRED
    row = SamlSigningKey(kid=kid, status=KEY_ACTIVE, certificate=cert,
                         private_key=seal(load_master_key(settings), pem, _context(kid)))
    db.session.add(row)
    db.session.commit()
    return row


def _common_name(settings) -> str:
    from urllib.parse import urlsplit
    return urlsplit(settings.issuer).hostname or "idp"


def list_keys() -> list[SamlSigningKey]:
    return list(db.session.scalars(select(SamlSigningKey).order_by(SamlSigningKey.id)))


def active_key(settings) -> ActiveKey:
    """The signing key as files for xmlsec1 (created on first use), with the certificates to publish."""
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
    others = tuple(r.certificate for r in rows if r.kid != active.kid)
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
