"""Identity extractors: find the ID number a CA put into its certificates.

Each trust profile lists extractors in order; the first one that finds a value wins. A value that
is found but fails its check digit refuses the certificate (it is never skipped over).

Sources:   ``extension:<oid>``, ``cn``, ``subject:<oid>``, ``san_othername:<oid>``
Decoders:  ``string`` (any DER character string, an explicitly tagged one, or bare ASCII),
           ``gmt0015_identity_code`` (the GM/T 0015-2012 IdentityCode CHOICE)
``pattern`` (optional) is a regular expression applied to the decoded text with named groups
``id`` (required), ``type`` (looked up in ``type_codes``) and ``name``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from cryptography import x509
from cryptography.x509.oid import NameOID

from . import der
from .errors import MalformedCertificate
from .idnumbers import ID_TYPES, kind_of, normalise

GMT0015 = "1.2.156.10260.4.1"
GMT0015_CHOICE = {0: "id_card", 1: "military", 2: "passport"}

PRESETS: dict[str, dict] = {
    "gmt0015_identity_code": {"source": f"extension:{GMT0015}.1",
                              "decoder": "gmt0015_identity_code", "id_type": "id_card"},
    "gmt0015_ic_registration_number": {"source": f"extension:{GMT0015}.3",
                                       "id_type": "business_registration"},
    "gmt0015_organization_code": {"source": f"extension:{GMT0015}.4", "id_type": "entity_code"},
    "gmt0015_taxation_number": {"source": f"extension:{GMT0015}.5", "id_type": "tax_number"},
    "cn_041": {"source": "cn",
               "pattern": r"^041@(?P<type>[0-9A-Z])(?P<id>[0-9A-Za-z]+)@(?P<name>[^@]*)@(?P<seq>[0-9A-Za-z]*)$",
               "type_codes": {"0": "id_card", "N": "uscc"}, "id_type": "id_card"},
    "subject_serial_number": {"source": "subject:2.5.4.5", "id_type": "id_card"},
}
DECODERS = {"string", "gmt0015_identity_code"}


@dataclass(frozen=True)
class Match:
    id_type: str
    id_number: str
    subject_kind: str
    name: str | None


@dataclass(frozen=True)
class Extractor:
    source: str
    id_type: str
    subject_kind: str
    decoder: str = "string"
    pattern: re.Pattern | None = None
    type_codes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, raw: Mapping) -> "Extractor":
        raw = dict(raw)
        preset = raw.pop("preset", None)
        if preset is not None:
            if preset not in PRESETS:
                raise ValueError(f"unknown extractor preset {preset!r}")
            raw = {**PRESETS[preset], **raw}
        source = raw.get("source", "")
        kind_, _, arg = source.partition(":")
        if kind_ not in {"extension", "subject", "san_othername"} and source != "cn":
            raise ValueError(f"unknown extractor source {source!r}")
        if kind_ != "cn" and not re.fullmatch(r"[0-2](\.\d+)+", arg):
            raise ValueError(f"extractor source {source!r} needs a dotted OID")
        decoder = raw.get("decoder", "string")
        if decoder not in DECODERS:
            raise ValueError(f"unknown extractor decoder {decoder!r}")
        id_type = raw.get("id_type", "id_card")
        type_codes = dict(raw.get("type_codes", {}))
        for t in [id_type, *type_codes.values()]:
            if t not in ID_TYPES:
                raise ValueError(f"unknown id_type {t!r}")
        pattern = re.compile(raw["pattern"]) if raw.get("pattern") else None
        if pattern is not None and "id" not in pattern.groupindex:
            raise ValueError("extractor pattern needs a named group 'id'")
        subject_kind = raw.get("subject_kind") or kind_of(id_type if id_type != "entity_code" else "uscc")
        if subject_kind not in {"person", "entity"}:
            raise ValueError(f"subject_kind must be 'person' or 'entity', not {subject_kind!r}")
        return cls(source=source, id_type=id_type, subject_kind=subject_kind, decoder=decoder,
                   pattern=pattern, type_codes=type_codes)

    # -- reading ---------------------------------------------------------------------------
    def _raw_values(self, cert: x509.Certificate) -> list[bytes | str]:
        kind_, _, arg = self.source.partition(":")
        if self.source == "cn":
            return [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        oid = x509.ObjectIdentifier(arg)
        if kind_ == "subject":
            return [a.value for a in cert.subject.get_attributes_for_oid(oid)]
        if kind_ == "extension":
            try:
                ext = cert.extensions.get_extension_for_oid(oid)
            except x509.ExtensionNotFound:
                return []
            value = ext.value
            return [value.value] if isinstance(value, x509.UnrecognizedExtension) else []
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return []
        return [o.value for o in san.get_values_for_type(x509.OtherName) if o.type_id == oid]

    def _decode(self, raw: bytes | str) -> tuple[str | None, str]:
        """Return (choice id_type or None, text)."""
        if isinstance(raw, str):
            return None, raw
        if self.decoder == "gmt0015_identity_code":
            return decode_identity_code(raw)
        return None, decode_text(raw)

    def extract(self, cert: x509.Certificate) -> Match | None:
        try:
            values = self._raw_values(cert)
        except ValueError as exc:   # duplicate or unparsable extensions
            raise MalformedCertificate(detail=str(exc)) from None
        for raw in values:
            try:
                choice_type, text = self._decode(raw)
            except der.DerError as exc:
                raise MalformedCertificate("An identity field in the certificate cannot be decoded.",
                                           message_zh="证书中的身份字段无法解析。",
                                           detail=f"{self.source}: {exc}") from None
            id_type = choice_type or self.id_type
            number, name = text.strip(), None
            if self.pattern is not None:
                m = self.pattern.search(text)
                if m is None:
                    continue
                number = m.group("id")
                name = m.groupdict().get("name") or None
                code = m.groupdict().get("type")
                if code is not None:
                    if code not in self.type_codes:
                        continue
                    id_type = self.type_codes[code]
            if not number:
                continue
            id_type, number = normalise(id_type, number)
            kind = self.subject_kind if choice_type is None and not self.type_codes else kind_of(id_type)
            return Match(id_type=id_type, id_number=number, subject_kind=kind, name=name)
        return None


def decode_text(raw: bytes) -> str:
    """A DER character string, one wrapped in an explicit tag, or bare printable ASCII."""
    try:
        item = der.read_single(raw)
    except der.DerError:
        item = None
    if item is not None:
        if item.cls == der.CONTEXT and item.constructed:
            inner = item.children()
            if len(inner) == 1:
                return der.decode_string(inner[0])
        elif item.cls == der.UNIVERSAL and item.tag in der.STRING_TAGS:
            return der.decode_string(item)
    if raw and all(0x20 <= b < 0x7F for b in raw):
        return raw.decode("ascii")
    raise der.DerError("value is neither a DER string nor printable ASCII")


def decode_identity_code(raw: bytes) -> tuple[str | None, str]:
    """GM/T 0015 IdentityCode: CHOICE of [0] [1] [2] strings, explicit or implicit tagging."""
    item = der.read_single(raw)
    if item.cls == der.CONTEXT:
        if item.tag not in GMT0015_CHOICE:
            raise der.DerError(f"unknown IdentityCode choice [{item.tag}]")
        if item.constructed:
            inner = item.children()
            if len(inner) != 1:
                raise der.DerError("IdentityCode choice must hold one string")
            text = der.decode_string(inner[0])
        else:
            try:
                text = item.value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise der.DerError("IdentityCode is not text") from exc
        return GMT0015_CHOICE[item.tag], text
    return None, der.decode_string(item)


def subject_name(cert: x509.Certificate, kind: str) -> str | None:
    oids = [NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME] if kind == "entity" else [NameOID.COMMON_NAME]
    for oid in oids:
        attrs = cert.subject.get_attributes_for_oid(oid)
        if attrs and isinstance(attrs[0].value, str) and attrs[0].value.strip():
            return attrs[0].value.strip()
    return None
