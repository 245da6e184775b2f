"""SM2-with-SM3 signatures (GB/T 32918, GB/T 35276) for certificates, CRLs, OCSP and challenges.

``cryptography`` parses SM2 certificates but cannot verify them. Verification goes through
tongsuopy (native Tongsuo) when it is installed and the distinguishing ID is the default
``1234567812345678`` (tongsuopy offers no way to set another ID); otherwise through gmssl, in pure
Python, with Z computed here for the requested ID. Signing (demo PKI, the ``idp-sign`` tool) follows
the same rule; the pure-Python path draws its nonce from ``secrets``.
"""
from __future__ import annotations

import secrets

from . import der

SM2_KEY_OID = "1.2.156.10197.1.301"
SM2_SM3_SIGNATURE_OID = "1.2.156.10197.1.501"
EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"
DEFAULT_ID = b"1234567812345678"

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

try:  # native backend
    from tongsuopy.crypto import hashes as _ts_hashes
    from tongsuopy.crypto import serialization as _ts_ser
    from tongsuopy.crypto.asymciphers import ec as _ts_ec
    from tongsuopy.crypto.exceptions import InvalidSignature as _TsInvalidSignature
    HAVE_TONGSUO = True
except ImportError:  # pragma: no cover - depends on the optional extra
    HAVE_TONGSUO = False

from gmssl import func as _gm_func
from gmssl import sm2 as _gm_sm2
from gmssl import sm3 as _gm_sm3

Point = tuple[int, int]


class SM2Error(ValueError):
    pass


def backend_name(distid: bytes = DEFAULT_ID) -> str:
    return "tongsuopy" if HAVE_TONGSUO and distid == DEFAULT_ID else "gmssl"


def sm3(data: bytes) -> bytes:
    if HAVE_TONGSUO:
        h = _ts_hashes.Hash(_ts_hashes.SM3())
        h.update(data)
        return h.finalize()
    return bytes.fromhex(_gm_sm3.sm3_hash(_gm_func.bytes_to_list(data)))


def on_curve(point: Point) -> bool:
    x, y = point
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def z_value(point: Point, distid: bytes = DEFAULT_ID) -> bytes:
    if len(distid) > 8191:
        raise SM2Error("distinguishing ID too long")
    entl = (len(distid) * 8).to_bytes(2, "big")
    parts = [entl, distid] + [v.to_bytes(32, "big") for v in (A, B, GX, GY, *point)]
    return sm3(b"".join(parts))


# -- encodings -------------------------------------------------------------------------------

def point_from_bytes(raw: bytes) -> Point:
    if len(raw) != 65 or raw[0] != 4:
        raise SM2Error("SM2 public key must be an uncompressed point")
    point = (int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big"))
    if not on_curve(point):
        raise SM2Error("SM2 public key is not on the curve")
    return point


def point_to_bytes(point: Point) -> bytes:
    return b"\x04" + point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


def spki_is_sm2(spki: der.Tlv) -> bool:
    try:
        alg = der.expect(spki.children()[0], der.TAG_SEQUENCE).children()
        names = [der.decode_oid(alg[0])] + [der.decode_oid(x) for x in alg[1:2]
                                            if x.is_universal(der.TAG_OID)]
    except (der.DerError, IndexError):
        return False
    return SM2_KEY_OID in names


def point_from_spki(spki: der.Tlv) -> Point:
    """Accept id-ecPublicKey with the SM2 curve, and the SM2 OID used as the algorithm itself."""
    try:
        alg, bits = spki.children()
        if not spki_is_sm2(spki):
            raise SM2Error("not an SM2 public key")
        return point_from_bytes(der.decode_bit_string(bits))
    except (der.DerError, ValueError) as exc:
        raise SM2Error(f"bad SM2 public key: {exc}") from None


def spki_bytes(point: Point) -> bytes:
    return der.sequence(der.sequence(der.oid(EC_PUBLIC_KEY_OID), der.oid(SM2_KEY_OID)),
                        der.bit_string(point_to_bytes(point)))


def decode_signature(signature: bytes) -> tuple[int, int]:
    """DER ``SEQUENCE { r INTEGER, s INTEGER }`` (also accepts a raw 64-byte r||s)."""
    if len(signature) == 64 and signature[0] != 0x30:
        return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        seq = der.expect(der.read_single(signature), der.TAG_SEQUENCE)
        r_item, s_item = seq.children()
        r, s = der.decode_integer(r_item), der.decode_integer(s_item)
    except (der.DerError, ValueError) as exc:
        raise SM2Error(f"bad SM2 signature encoding: {exc}") from None
    return r, s


def encode_signature(r: int, s: int) -> bytes:
    return der.sequence(der.integer(r), der.integer(s))


# -- verify / sign ----------------------------------------------------------------------------

def verify(point: Point, signature: bytes, data: bytes, distid: bytes = DEFAULT_ID) -> bool:
    """True if ``signature`` is a valid SM2-with-SM3 signature of ``data`` under ``point``."""
    try:
        r, s = decode_signature(signature)
    except SM2Error:
        return False
    if not (1 <= r < N and 1 <= s < N) or not on_curve(point):
        return False
    if backend_name(distid) == "tongsuopy":
        key = _ts_ec.EllipticCurvePublicNumbers(point[0], point[1], _ts_ec.SM2()).public_key()
        try:
            key.verify(encode_signature(r, s), data, _ts_ec.ECDSA(_ts_hashes.SM3()))
            return True
        except _TsInvalidSignature:
            return False
    e = sm3(z_value(point, distid) + data)
    engine = _gm_sm2.CryptSM2(private_key=None, public_key="")
    engine.public_key = "%064x%064x" % point      # set directly: the constructor mangles '04' prefixes
    return bool(engine.verify("%064x%064x" % (r, s), e))


def generate_private_key() -> int:
    return secrets.randbelow(N - 2) + 1


def public_point(private: int) -> Point:
    if HAVE_TONGSUO:
        numbers = _ts_ec.derive_private_key(private, _ts_ec.SM2()).public_key().public_numbers()
        return numbers.x, numbers.y
    engine = _gm_sm2.CryptSM2(private_key="%064x" % private, public_key="")
    out = engine._kg(private, _gm_sm2.default_ecc_table["g"])
    return int(out[:64], 16), int(out[64:], 16)


def sign(private: int, data: bytes, distid: bytes = DEFAULT_ID) -> bytes:
    """DER-encoded SM2-with-SM3 signature of ``data``."""
    if backend_name(distid) == "tongsuopy":
        key = _ts_ec.derive_private_key(private, _ts_ec.SM2())
        return bytes(key.sign(data, _ts_ec.ECDSA(_ts_hashes.SM3())))
    point = public_point(private)
    e = sm3(z_value(point, distid) + data)
    engine = _gm_sm2.CryptSM2(private_key="%064x" % private, public_key="")
    engine.public_key = "%064x%064x" % point
    while True:
        out = engine.sign(e, "%064x" % (secrets.randbelow(N - 1) + 1))
        if out:
            return encode_signature(int(out[:64], 16), int(out[64:], 16))


# -- private key files ------------------------------------------------------------------------

def private_key_to_pem(private: int, password: bytes | None = None) -> bytes:
    if not HAVE_TONGSUO:
        raise SM2Error("writing SM2 key files needs tongsuopy")
    key = _ts_ec.derive_private_key(private, _ts_ec.SM2())
    enc = (_ts_ser.BestAvailableEncryption(password) if password else _ts_ser.NoEncryption())
    return key.private_bytes(_ts_ser.Encoding.PEM, _ts_ser.PrivateFormat.PKCS8, enc)


def private_key_from_pem(data: bytes, password: bytes | None = None) -> int:
    if not HAVE_TONGSUO:
        raise SM2Error("reading SM2 key files needs tongsuopy")
    try:
        key = _ts_ser.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        raise SM2Error(f"cannot read SM2 private key: {exc}") from None
    if not isinstance(getattr(key, "curve", None), _ts_ec.SM2):
        raise SM2Error("the private key is not an SM2 key")
    return key.private_numbers().private_value
