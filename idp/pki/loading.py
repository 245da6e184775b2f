"""Turning submitted bytes into certificates: PEM, DER or bare base64, with size limits."""
from __future__ import annotations

import base64
import binascii
import re

from cryptography import x509

from . import der
from .errors import InputTooLarge, MalformedCertificate

MAX_CERT_DER = 16 * 1024          # a real citizen certificate is 1-3 KiB
MAX_CERT_TEXT = 24 * 1024         # PEM/base64 of the above plus headers and line breaks
MAX_CHAIN = 8
MAX_BUNDLE = 512 * 1024           # trust anchor files, CRL files

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


def _to_bytes(data: bytes | str) -> bytes:
    if isinstance(data, str):
        try:
            return data.encode("ascii")
        except UnicodeEncodeError:
            raise MalformedCertificate(detail="certificate text is not ASCII") from None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise MalformedCertificate(detail=f"unsupported input type {type(data).__name__}")


def certificate_der(data: bytes | str) -> bytes:
    """Return the DER of one certificate given as PEM, DER or bare base64."""
    raw = _to_bytes(data)
    if len(raw) > MAX_CERT_TEXT:
        raise InputTooLarge(detail=f"{len(raw)} bytes")
    if not raw:
        raise MalformedCertificate(detail="empty input")
    if raw[:1] == b"\x30":
        body = raw
    elif b"-----BEGIN" in raw:
        blocks = _PEM_BLOCK.findall(raw)
        certs = [b for label, b in blocks if label in (b"CERTIFICATE", b"X509 CERTIFICATE")]
        if len(certs) != 1:
            raise MalformedCertificate(detail="expected exactly one PEM CERTIFICATE block")
        body = _b64(certs[0])
    else:
        body = _b64(raw)
    if len(body) > MAX_CERT_DER:
        raise InputTooLarge(detail=f"{len(body)} bytes of DER")
    try:
        der.read_single(body)
    except der.DerError as exc:
        raise MalformedCertificate(detail=f"not DER: {exc}") from None
    return body


def _b64(text: bytes) -> bytes:
    compact = re.sub(rb"\s+", b"", text)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedCertificate(detail="invalid base64") from None


def load_certificate(data: bytes | str) -> x509.Certificate:
    body = certificate_der(data)
    try:
        cert = x509.load_der_x509_certificate(body)
        # touch the fields every later step relies on so a lazy parse error surfaces here
        cert.subject, cert.issuer, cert.not_valid_before_utc, cert.not_valid_after_utc
        cert.serial_number
    except (ValueError, TypeError, x509.InvalidVersion) as exc:
        raise MalformedCertificate(detail=str(exc)) from None
    return cert


def load_chain(items) -> list[x509.Certificate]:
    if items is None:
        return []
    if isinstance(items, (bytes, str)):
        items = [items]
    items = list(items)
    if len(items) > MAX_CHAIN:
        raise InputTooLarge(f"At most {MAX_CHAIN} chain certificates may be submitted.",
                            message_zh=f"最多只能提交 {MAX_CHAIN} 张证书链证书。")
    return [load_certificate(item) for item in items]


def load_pem_bundle(data: bytes) -> list[x509.Certificate]:
    """All certificates in a PEM file (for trust anchors); raises ValueError on bad input."""
    if len(data) > MAX_BUNDLE:
        raise ValueError("bundle too large")
    certs = x509.load_pem_x509_certificates(data)
    if not certs:
        raise ValueError("no certificate found")
    return certs


def tbs_fields(cert: x509.Certificate) -> list[der.Tlv]:
    """The TBSCertificate fields, normalised so index 0 is the serial number."""
    fields = der.read_single(cert.tbs_certificate_bytes).children()
    if fields and fields[0].cls == der.CONTEXT and fields[0].tag == 0:
        fields = fields[1:]
    if len(fields) < 6:
        raise der.DerError("TBSCertificate has too few fields")
    return fields


def spki_of(cert: x509.Certificate) -> der.Tlv:
    return tbs_fields(cert)[5]
