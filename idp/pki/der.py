"""A small, bounds-checked DER reader (and the few encoders the demo PKI needs).

Only definite lengths, single-byte and multi-byte tags, and lengths up to 4 bytes are accepted;
anything else raises ``DerError``. Used for GM/T 0015 private extensions and for the parts of
SM2 certificates, CRLs and OCSP responses that ``cryptography`` parses but cannot verify.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_DEPTH = 16

UNIVERSAL, APPLICATION, CONTEXT, PRIVATE = 0, 1, 2, 3

TAG_INTEGER = 0x02
TAG_BIT_STRING = 0x03
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_OID = 0x06
TAG_UTF8 = 0x0C
TAG_SEQUENCE = 0x10
TAG_SET = 0x11
TAG_NUMERIC = 0x12
TAG_PRINTABLE = 0x13
TAG_TELETEX = 0x14
TAG_IA5 = 0x16
TAG_UTCTIME = 0x17
TAG_GENTIME = 0x18
TAG_VISIBLE = 0x1A
TAG_UNIVERSAL_STRING = 0x1C
TAG_BMP = 0x1E

STRING_TAGS = {TAG_UTF8, TAG_NUMERIC, TAG_PRINTABLE, TAG_TELETEX, TAG_IA5, TAG_VISIBLE,
               TAG_UNIVERSAL_STRING, TAG_BMP}


class DerError(ValueError):
    pass


@dataclass(frozen=True)
class Tlv:
    cls: int
    constructed: bool
    tag: int
    data: bytes          # the whole buffer this element lives in
    start: int           # offset of the identifier octet
    value_start: int
    end: int             # offset one past the last value octet

    @property
    def value(self) -> bytes:
        return self.data[self.value_start:self.end]

    @property
    def raw(self) -> bytes:
        return self.data[self.start:self.end]

    def children(self) -> list["Tlv"]:
        if not self.constructed:
            raise DerError("primitive element has no children")
        return read_all(self.data, self.value_start, self.end)

    def is_universal(self, tag: int) -> bool:
        return self.cls == UNIVERSAL and self.tag == tag


def read_tlv(data: bytes, offset: int = 0, end: int | None = None) -> Tlv:
    """Read one element starting at ``offset``; never reads past ``end``."""
    limit = len(data) if end is None else end
    if limit > len(data) or offset < 0 or offset >= limit:
        raise DerError("truncated element")
    pos = offset
    first = data[pos]
    pos += 1
    cls = first >> 6
    constructed = bool(first & 0x20)
    tag = first & 0x1F
    if tag == 0x1F:
        tag = 0
        for count in range(5):
            if pos >= limit:
                raise DerError("truncated tag")
            byte = data[pos]
            pos += 1
            if count == 0 and byte == 0x80:
                raise DerError("non-minimal tag")
            tag = (tag << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        else:
            raise DerError("tag number too large")
    if pos >= limit:
        raise DerError("truncated length")
    length = data[pos]
    pos += 1
    if length == 0x80:
        raise DerError("indefinite length is not DER")
    if length & 0x80:
        count = length & 0x7F
        if count > 4:
            raise DerError("length too large")
        if pos + count > limit:
            raise DerError("truncated length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > limit:
        raise DerError("element runs past the end of its container")
    return Tlv(cls, constructed, tag, data, offset, pos, pos + length)


def read_all(data: bytes, offset: int = 0, end: int | None = None) -> list[Tlv]:
    limit = len(data) if end is None else end
    items = []
    pos = offset
    while pos < limit:
        item = read_tlv(data, pos, limit)
        items.append(item)
        pos = item.end
    return items


def read_single(data: bytes) -> Tlv:
    """Parse ``data`` as exactly one element with nothing after it."""
    item = read_tlv(data, 0, len(data))
    if item.end != len(data):
        raise DerError("trailing data after element")
    return item


def expect(item: Tlv, tag: int, cls: int = UNIVERSAL) -> Tlv:
    if item.cls != cls or item.tag != tag:
        raise DerError(f"expected tag {cls}:{tag}, found {item.cls}:{item.tag}")
    return item


def decode_string(item: Tlv) -> str:
    """Decode any ASN.1 character string type to ``str``."""
    if item.cls != UNIVERSAL or item.tag not in STRING_TAGS or item.constructed:
        raise DerError("not a character string")
    raw = item.value
    try:
        if item.tag == TAG_BMP:
            return raw.decode("utf-16-be")
        if item.tag == TAG_UNIVERSAL_STRING:
            return raw.decode("utf-32-be")
        if item.tag == TAG_TELETEX:
            return raw.decode("latin-1")
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DerError("string is not valid text") from exc


def decode_oid(item: Tlv) -> str:
    expect(item, TAG_OID)
    raw = item.value
    if not raw or raw[-1] & 0x80:
        raise DerError("bad object identifier")
    arcs: list[int] = []
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else ([1, first - 40] if first < 80 else [2, first - 80])
    return ".".join(str(a) for a in head + arcs[1:])


def decode_integer(item: Tlv) -> int:
    expect(item, TAG_INTEGER)
    if not item.value:
        raise DerError("empty integer")
    return int.from_bytes(item.value, "big", signed=True)


def decode_bit_string(item: Tlv) -> bytes:
    expect(item, TAG_BIT_STRING)
    raw = item.value
    if not raw or raw[0] != 0:
        raise DerError("only octet-aligned bit strings are supported here")
    return raw[1:]


# --- encoders (used to build demo SM2 certificates) ---------------------------------------

def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode(tag_byte: int, value: bytes) -> bytes:
    return bytes([tag_byte]) + encode_length(len(value)) + value


def sequence(*parts: bytes) -> bytes:
    return encode(0x30, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    return encode(0x31, b"".join(sorted(parts)))


def integer(value: int) -> bytes:
    length = max(1, (value.bit_length() + 8) // 8)
    return encode(0x02, value.to_bytes(length, "big", signed=True))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = [40 * arcs[0] + arcs[1]] + arcs[2:]
    out = bytearray()
    for arc in body:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return encode(0x06, bytes(out))


def bit_string(value: bytes) -> bytes:
    return encode(0x03, b"\x00" + value)


def octet_string(value: bytes) -> bytes:
    return encode(0x04, value)


def explicit(number: int, value: bytes) -> bytes:
    return encode(0xA0 | number, value)
