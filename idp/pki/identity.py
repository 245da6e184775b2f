"""The neutral result of a certificate login, and how it is read from a validated certificate."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .errors import NoIdentity
from .extractors import Match, subject_name
from .profile import TrustProfile


@dataclass(frozen=True)
class CertificateIdentity:
    subject_kind: str                  # 'person' | 'entity'
    id_type: str                       # 'id_card' | 'uscc' | 'passport' | 'military' | ...
    id_number: str                     # normalised (upper-case X, no separators)
    name: str | None
    acr: str
    amr: tuple[str, ...]
    profile: str
    issuer: str                        # RFC 4514
    serial: str                        # hex
    fingerprint: str                   # SHA-256 of the DER, hex
    not_after: dt.datetime
    allow_create: bool
    key_algorithm: str = ""
    acting_id_type: str | None = None  # enterprise certificates naming the acting person
    acting_id_number: str | None = None
    acting_name: str | None = None
    certificate: x509.Certificate | None = field(default=None, compare=False, repr=False)

    @property
    def subject_key(self) -> tuple[str, str]:
        """What to look the subject up by: ``(id_type, id_number)``."""
        return self.id_type, self.id_number


def identify(cert: x509.Certificate, profile: TrustProfile, key_algorithm: str) -> CertificateIdentity:
    """Run the profile's extractors in order; the first match wins.

    If the winner is an entity, the remaining person extractors are tried for the acting person.
    """
    primary: Match | None = None
    acting: Match | None = None
    for extractor in profile.extractors:
        if primary is not None and (primary.subject_kind != "entity" or extractor.subject_kind != "person"):
            continue
        found = extractor.extract(cert)
        if found is None:
            continue
        if primary is None:
            primary = found
        elif found.subject_kind == "person":
            acting = found
            break
    if primary is None:
        raise NoIdentity(detail=f"no extractor of profile {profile.name} matched")
    name = primary.name or subject_name(cert, primary.subject_kind)
    return CertificateIdentity(
        subject_kind=primary.subject_kind, id_type=primary.id_type, id_number=primary.id_number,
        name=name, acr=profile.acr, amr=profile.amr, profile=profile.name,
        issuer=cert.issuer.rfc4514_string(), serial=format(cert.serial_number, "x"),
        fingerprint=hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
        not_after=cert.not_valid_after_utc, allow_create=profile.allow_create,
        key_algorithm=key_algorithm,
        acting_id_type=acting.id_type if acting else None,
        acting_id_number=acting.id_number if acting else None,
        acting_name=acting.name if acting else None,
        certificate=cert)
