"""SM2: the GM/T 0015 SM2 demo chain verifies; one changed signature byte breaks it."""
import pytest
from cryptography import x509

from idp.pki import CertificateError, sm2
from idp.pki.chain import ChainValidator
from idp.pki.der import read_single


def _flip_signature_byte(pem: bytes) -> bytes:
    cert = x509.load_pem_x509_certificate(pem)
    from cryptography.hazmat.primitives.serialization import Encoding
    der = bytearray(cert.public_bytes(Encoding.DER))
    sig = cert.signature
    at = bytes(der).rindex(sig) + len(sig) // 2
    der[at] ^= 0x01
    return bytes(der)


def test_sm2_chain_verifies(pki, store):
    who = store.authenticate(pki.cert("demo-gmt0015", "person"))
    assert who.key_algorithm == "sm2"
    assert (who.id_type, who.id_number) == ("id_card", "11010519491231002X")


def test_sm2_chain_with_changed_signature_byte_is_untrusted(pki, store):
    tampered = _flip_signature_byte(pki.cert("demo-gmt0015", "person"))
    read_single(tampered)    # still well-formed DER
    with pytest.raises(CertificateError) as err:
        store.authenticate(tampered)
    assert err.value.code == "untrusted"


def test_sm2_path_checks_are_not_skipped_by_wrong_id(pki):
    import tomllib
    from idp.pki import parse_profile
    path = pki.profiles / "demo-gmt0015.toml"
    raw = tomllib.loads(path.read_text())
    raw["sm2_id"] = "another-id"
    profile = parse_profile(raw, base=path.parent)
    validator = ChainValidator(profile)
    leaf = x509.load_pem_x509_certificate(pki.cert("demo-gmt0015", "person"))
    import datetime as dt
    with pytest.raises(CertificateError) as err:
        validator.validate(leaf, [], dt.datetime.now(dt.timezone.utc))
    assert err.value.code == "untrusted"


def test_backends_agree_and_distinguishing_id_matters():
    key = sm2.generate_private_key()
    point = sm2.public_point(key)
    sig = sm2.sign(key, b"data")
    assert sm2.verify(point, sig, b"data")
    assert not sm2.verify(point, sig, b"datA")
    custom = sm2.sign(key, b"data", b"ALICE123@YAHOO.COM")       # pure-Python path
    assert sm2.verify(point, custom, b"data", b"ALICE123@YAHOO.COM")
    assert not sm2.verify(point, custom, b"data")
    # the pure-Python path verifies the native signature with the default ID
    e = sm2.sm3(sm2.z_value(point) + b"data")
    from gmssl import sm2 as gm
    r, s = sm2.decode_signature(sig)
    engine = gm.CryptSM2(private_key=None, public_key="")
    engine.public_key = "%064x%064x" % point
    assert engine.verify("%064x%064x" % (r, s), e)


def test_gbt_32918_example_z_value():
    # GB/T 32918.2 / GM/T 0003 annex A uses another curve; here we check Z is deterministic and
    # depends on both the ID and the key.
    p1 = sm2.public_point(5)
    assert sm2.z_value(p1) == sm2.z_value(p1)
    assert sm2.z_value(p1) != sm2.z_value(p1, b"other")
    assert sm2.z_value(p1) != sm2.z_value(sm2.public_point(6))


@pytest.mark.parametrize("sig", [b"", b"\x30\x00", b"\x30\x06\x02\x01\x00\x02\x01\x01", b"\x00" * 64,
                                 b"\x30\x45" + b"\x02" * 69])
def test_malformed_sm2_signatures_do_not_verify(sig):
    point = sm2.public_point(7)
    assert sm2.verify(point, sig, b"x") is False


def test_point_must_be_on_curve():
    with pytest.raises(sm2.SM2Error):
        sm2.point_from_bytes(b"\x04" + b"\x01" * 64)
