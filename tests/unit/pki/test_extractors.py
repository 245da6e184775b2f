"""Identity extractors on certificates built here, including encodings the demo PKI does not use."""
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.pki import CertificateError, der
from idp.pki.extractors import Extractor

KEY = ec.generate_private_key(ec.SECP256R1())
ID = "11010519491231002X"


def cert_with(subject=None, extensions=()):
    now = dt.datetime.now(dt.timezone.utc)
    name = subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "张三")])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(KEY.public_key())
         .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1)))
    for ext in extensions:
        b = b.add_extension(ext, critical=False)
    return b.sign(KEY, hashes.SHA256())


def ext(oid, value):
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value)


def run(config, cert):
    return Extractor.from_config(config).extract(cert)


@pytest.mark.parametrize("value,id_type", [
    (der.explicit(0, der.encode(0x13, ID.encode())), "id_card"),          # explicit [0]
    (der.encode(0x80, ID.encode()), "id_card"),                          # implicit [0]
    (der.explicit(2, der.encode(0x13, b"E12345678")), "passport"),
    (der.explicit(1, der.encode(0x0C, "军字第1234567号".encode())), None),  # not an ID format
    (der.encode(0x13, ID.lower().encode()), "id_card"),                   # bare string, lower x
])
def test_gmt0015_identity_code_variants(value, id_type):
    cert = cert_with(extensions=[ext("1.2.156.10260.4.1.1", value)])
    if id_type is None:
        with pytest.raises(CertificateError) as err:
            run({"preset": "gmt0015_identity_code"}, cert)
        assert err.value.code == "bad_id_check"
        return
    m = run({"preset": "gmt0015_identity_code"}, cert)
    assert m.id_type == id_type and m.subject_kind == "person"
    if id_type == "id_card":
        assert m.id_number == ID                                            # upper-case X


def test_gmt0015_organization_code_holds_credit_code_or_org_code():
    cert = cert_with(extensions=[ext("1.2.156.10260.4.1.4", der.encode(0x13, b"91350100M000100Y43"))])
    m = run({"preset": "gmt0015_organization_code"}, cert)
    assert (m.id_type, m.id_number, m.subject_kind) == ("uscc", "91350100M000100Y43", "entity")
    cert = cert_with(extensions=[ext("1.2.156.10260.4.1.4", b"M0001000-6")])   # raw ASCII
    m = run({"preset": "gmt0015_organization_code"}, cert)
    assert (m.id_type, m.id_number) == ("org_code", "M00010006")


def test_legacy_arc_meaning_is_per_profile():
    cert = cert_with(extensions=[ext("1.2.86.11.7.3", der.encode(0x13, ID.encode()))])
    m = run({"source": "extension:1.2.86.11.7.3", "id_type": "id_card"}, cert)
    assert m.id_number == ID
    with pytest.raises(CertificateError) as err:       # another CA: .3 holds a credit code
        run({"source": "extension:1.2.86.11.7.3", "id_type": "uscc"}, cert)
    assert err.value.code == "bad_id_check"


def test_cn_pattern_and_type_codes():
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"041@0{ID}@张三@00000001")])
    m = run({"preset": "cn_041"}, cert_with(subject=name))
    assert (m.id_type, m.id_number, m.name) == ("id_card", ID, "张三")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "041@Z123@某@1")])
    assert run({"preset": "cn_041"}, cert_with(subject=name)) is None        # unknown type code
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "041@0110105194912310021@张三@1")])
    with pytest.raises(CertificateError) as err:
        run({"preset": "cn_041"}, cert_with(subject=name))
    assert err.value.code == "bad_id_check"


def test_subject_serial_number_and_san_other_name():
    name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, ID)])
    assert run({"preset": "subject_serial_number"}, cert_with(subject=name)).id_number == ID
    other = x509.OtherName(x509.ObjectIdentifier("1.2.3.4"), der.explicit(0, der.encode(0x0C, ID.encode())))
    cert = cert_with(extensions=[x509.SubjectAlternativeName([other])])
    assert run({"source": "san_othername:1.2.3.4", "id_type": "id_card"}, cert).id_number == ID
    assert run({"source": "san_othername:1.2.3.5", "id_type": "id_card"}, cert) is None


def test_undecodable_extension_is_malformed():
    cert = cert_with(extensions=[ext("1.2.156.10260.4.1.1", b"\xa0\x05\x13\xff")])
    with pytest.raises(CertificateError) as err:
        run({"preset": "gmt0015_identity_code"}, cert)
    assert err.value.code == "malformed"


@pytest.mark.parametrize("config", [
    {"preset": "nope"}, {"source": "foo"}, {"source": "extension:abc"},
    {"source": "cn", "decoder": "x"}, {"source": "cn", "id_type": "ssn"},
    {"source": "cn", "pattern": "(?P<number>.*)"}, {"source": "cn", "subject_kind": "robot"},
])
def test_bad_extractor_config(config):
    with pytest.raises(ValueError):
        Extractor.from_config(config)
