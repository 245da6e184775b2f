"""Certificate path validation for one trust profile.

RSA and ECDSA paths are built and checked by ``cryptography.x509.verification`` with extension
policies loosened for real government CA profiles (no SAN, AKI or EKU requirements) and strict on
the key usage and EKU the profile asks for. SM2 paths, which ``cryptography`` cannot verify, are
walked here: name chaining, SM2 signatures, validity, basicConstraints, keyCertSign, path length.
"""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import (Criticality, ExtensionPolicy, PolicyBuilder, Store,
                                            VerificationError)

from . import der, sm2
from .errors import (BadKeyUsage, CertificateExpired, CertificateNotYetValid, CertificateError,
                     UntrustedCertificate)
from .loading import spki_of
from .profile import TrustProfile

_DER = Encoding.DER
_KU_ATTRS = {"digital_signature": "digital_signature", "content_commitment": "content_commitment",
             "key_encipherment": "key_encipherment", "data_encipherment": "data_encipherment",
             "key_agreement": "key_agreement"}


def key_algorithm(cert: x509.Certificate) -> str:
    """'rsa', 'ecdsa-p256', 'sm2' or a descriptive name for anything else."""
    try:
        if sm2.spki_is_sm2(spki_of(cert)):
            return "sm2"
    except der.DerError:
        return "unknown"
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "unknown"
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa-p256" if isinstance(key.curve, ec.SECP256R1) else f"ecdsa-{key.curve.name}"
    return type(key).__name__


def is_sm2_signed(cert: x509.Certificate) -> bool:
    return cert.signature_algorithm_oid.dotted_string == sm2.SM2_SM3_SIGNATURE_OID


def check_validity(cert: x509.Certificate, now: dt.datetime, role: str = "certificate") -> None:
    if now < cert.not_valid_before_utc:
        raise CertificateNotYetValid(detail=f"{role} {cert.subject.rfc4514_string()} valid from "
                                            f"{cert.not_valid_before_utc.isoformat()}")
    if now > cert.not_valid_after_utc:
        raise CertificateExpired(detail=f"{role} {cert.subject.rfc4514_string()} expired "
                                        f"{cert.not_valid_after_utc.isoformat()}")


def _extension(cert: x509.Certificate, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def check_leaf_usage(cert: x509.Certificate, profile: TrustProfile) -> None:
    """Key usage bits and EKU purposes the profile requires of login certificates."""
    try:
        ku = _extension(cert, x509.KeyUsage)
        eku = _extension(cert, x509.ExtendedKeyUsage)
        bc = _extension(cert, x509.BasicConstraints)
    except ValueError as exc:
        raise UntrustedCertificate(detail=f"unparsable extensions: {exc}") from None
    if bc is not None and bc.ca:
        raise BadKeyUsage("A CA certificate cannot be used to log in.",
                          message_zh="CA 证书不能用于登录。")
    if profile.key_usage:
        if ku is None:
            raise BadKeyUsage(detail="keyUsage extension missing")
        missing = [u for u in profile.key_usage if not getattr(ku, _KU_ATTRS[u])]
        if missing:
            raise BadKeyUsage(detail=f"keyUsage lacks {', '.join(sorted(missing))}")
    if profile.extended_key_usage:
        have = {o.dotted_string for o in eku} if eku is not None else set()
        if not profile.extended_key_usage <= have:
            raise BadKeyUsage(detail=f"extendedKeyUsage lacks "
                                     f"{', '.join(sorted(profile.extended_key_usage - have))}")


def _check_ca(cert: x509.Certificate, depth_below: int) -> None:
    """CA requirements for an issuer that has ``depth_below`` non-leaf CAs beneath it."""
    bc = _extension(cert, x509.BasicConstraints)
    if bc is None or not bc.ca:
        raise UntrustedCertificate(detail=f"{cert.subject.rfc4514_string()} is not a CA")
    if bc.path_length is not None and depth_below > bc.path_length:
        raise UntrustedCertificate(detail=f"path length exceeded at {cert.subject.rfc4514_string()}")
    ku = _extension(cert, x509.KeyUsage)
    if ku is not None and not ku.key_cert_sign:
        raise BadKeyUsage(detail=f"{cert.subject.rfc4514_string()} lacks keyCertSign")


class ChainValidator:
    """Built once per profile (holds the parsed ``Store``); ``validate`` is called per login."""

    def __init__(self, profile: TrustProfile) -> None:
        self.profile = profile
        self.x509_roots = [c for c in profile.roots if not is_sm2_signed(c)]
        self.x509_intermediates = [c for c in profile.intermediates if not is_sm2_signed(c)]
        self.store = Store(self.x509_roots) if self.x509_roots else None
        self.anchor_ders = {c.public_bytes(_DER) for c in profile.roots}
        self.ca_policy = (ExtensionPolicy.permit_all()
                          .require_present(x509.BasicConstraints, Criticality.AGNOSTIC, None)
                          .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _ca_key_usage))
        ee = ExtensionPolicy.permit_all()
        if profile.key_usage:
            ee = ee.require_present(x509.KeyUsage, Criticality.AGNOSTIC, self._ee_key_usage)
        if profile.extended_key_usage:
            ee = ee.require_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, self._ee_eku)
        self.ee_policy = ee

    # extension-policy callbacks (run inside cryptography's verifier)
    def _ee_key_usage(self, policy, cert, ku) -> None:
        missing = [u for u in self.profile.key_usage if not getattr(ku, _KU_ATTRS[u])]
        if missing:
            raise ValueError(f"keyUsage lacks {missing}")

    def _ee_eku(self, policy, cert, eku) -> None:
        if not self.profile.extended_key_usage <= {o.dotted_string for o in eku}:
            raise ValueError("extendedKeyUsage lacks a required purpose")

    def validate(self, leaf: x509.Certificate, supplied: list[x509.Certificate],
                 now: dt.datetime) -> list[x509.Certificate]:
        """Return the validated path, leaf first and trust anchor last."""
        check_validity(leaf, now)
        check_leaf_usage(leaf, self.profile)
        alg = key_algorithm(leaf)
        if alg not in self.profile.key_algorithms:
            raise UntrustedCertificate(
                f"This certificate authority does not issue {alg} login certificates.",
                message_zh="该证书认证机构不使用此类密钥签发登录证书。")
        if alg == "sm2" or is_sm2_signed(leaf):
            return self._validate_sm2(leaf, supplied, now)
        return self._validate_x509(leaf, supplied, now)

    def _validate_x509(self, leaf, supplied, now) -> list[x509.Certificate]:
        if self.store is None:
            raise UntrustedCertificate(detail="profile has no RSA/ECDSA roots")
        verifier = (PolicyBuilder().store(self.store).time(now)
                    .max_chain_depth(self.profile.max_chain_depth)
                    .extension_policies(ca_policy=self.ca_policy, ee_policy=self.ee_policy)
                    .build_client_verifier())
        intermediates = [c for c in supplied if not is_sm2_signed(c)] + self.x509_intermediates
        try:
            return list(verifier.verify(leaf, intermediates).chain)
        except VerificationError as exc:
            raise self._diagnose(leaf, intermediates, now, str(exc)) from None

    def _diagnose(self, leaf, intermediates, now, detail: str) -> CertificateError:
        """Name the most useful reason a path failed: an expired CA on the way, or untrusted."""
        by_subject = {}
        for c in intermediates + list(self.profile.roots):
            by_subject.setdefault(c.subject, []).append(c)
        current, seen = leaf, 0
        while seen < self.profile.max_chain_depth + 1 and current.issuer in by_subject:
            issuer = by_subject[current.issuer][0]
            try:
                check_validity(issuer, now, role="issuer")
            except CertificateError as err:
                err.detail = f"{err.detail}; {detail}"
                return err
            if issuer.issuer == issuer.subject:
                break
            current, seen = issuer, seen + 1
        return UntrustedCertificate(detail=detail)

    # -- SM2 -------------------------------------------------------------------------------
    def _validate_sm2(self, leaf, supplied, now) -> list[x509.Certificate]:
        pool = [c for c in list(supplied) + list(self.profile.intermediates) + list(self.profile.roots)
                if is_sm2_signed(c)]
        path = self._walk(leaf, pool, now, [leaf], 0)
        if path is None:
            raise UntrustedCertificate(detail="no SM2 path to a trusted root")
        return path

    def _walk(self, cert, pool, now, path, cas_below) -> list[x509.Certificate] | None:
        if len(path) > self.profile.max_chain_depth + 2:
            return None
        last_error: CertificateError | None = None
        for issuer in pool:
            if issuer.subject != cert.issuer or any(issuer is p for p in path):
                continue
            if not self._sm2_signed_by(cert, issuer):
                continue
            try:
                check_validity(issuer, now, role="issuer")
                _check_ca(issuer, cas_below)
            except CertificateError as err:
                last_error = err
                continue
            if issuer.public_bytes(_DER) in self.anchor_ders:
                return path + [issuer]
            found = self._walk(issuer, pool, now, path + [issuer], cas_below + 1)
            if found is not None:
                return found
        if last_error is not None:
            raise last_error
        return None

    def _sm2_signed_by(self, cert: x509.Certificate, issuer: x509.Certificate) -> bool:
        if not is_sm2_signed(cert):
            return False
        try:
            point = sm2.point_from_spki(spki_of(issuer))
        except (sm2.SM2Error, der.DerError):
            return False
        return sm2.verify(point, cert.signature, cert.tbs_certificate_bytes, self.profile.sm2_id)


def _ca_key_usage(policy, cert, ku) -> None:
    if ku is not None and not ku.key_cert_sign:
        raise ValueError("CA keyUsage lacks keyCertSign")

