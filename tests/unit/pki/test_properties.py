"""Random and mutated input to the DER reader, the extractors and the validator.

Only ``CertificateError`` may escape ``authenticate``; the extractors raise nothing else either.
"""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from cryptography import x509

from idp.pki import CertificateError, der
from idp.pki.extractors import Extractor, decode_identity_code, decode_text

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
EXTRACTORS = [Extractor.from_config(c) for c in (
    {"preset": "gmt0015_identity_code"}, {"preset": "gmt0015_organization_code"},
    {"preset": "cn_041"}, {"preset": "subject_serial_number"},
    {"source": "san_othername:1.2.3.4", "id_type": "id_card"})]


def _mutate(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf)


@SETTINGS
@given(st.binary(max_size=300))
def test_der_reader_only_raises_der_error(data):
    try:
        for item in der.read_all(data):
            if item.constructed:
                item.children()
    except der.DerError:
        pass
    for fn in (decode_text, decode_identity_code):
        try:
            fn(data)
        except der.DerError:
            pass


@SETTINGS
@given(data=st.binary(max_size=4000))
def test_random_bytes_are_refused_with_certificate_error(store, data):
    try:
        store.authenticate(data)
    except CertificateError:
        pass


@SETTINGS
@given(which=st.sampled_from(["demo-gmt0015", "demo-cn", "demo-serial"]),
       role=st.sampled_from(["person", "entity", "bad_id_check"]),
       edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
       truncate=st.integers(0, 40))
def test_mutated_certificates(pki, store, which, role, edits, truncate):
    cert = x509.load_pem_x509_certificate(pki.cert(which, role))
    from cryptography.hazmat.primitives.serialization import Encoding
    data = _mutate(cert.public_bytes(Encoding.DER), edits)
    data = data[:len(data) - truncate]
    try:
        who = store.authenticate(data, pki.chain(which, role))
    except CertificateError:
        return
    # anything accepted must still carry a valid identity from an unmodified signature
    assert who.id_number in {"11010519491231002X", "91350100M000100Y43"}
    try:
        parsed = x509.load_der_x509_certificate(data)
    except (ValueError, x509.InvalidVersion):
        return
    for extractor in EXTRACTORS:
        try:
            extractor.extract(parsed)
        except CertificateError:
            pass


@SETTINGS
@given(value=st.binary(max_size=64), oid=st.sampled_from(["1.2.156.10260.4.1.1", "1.2.156.10260.4.1.4"]))
def test_extractors_on_random_extension_values(value, oid):
    import datetime as dt
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    key = _KEY
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    now = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=False)
            .sign(key, hashes.SHA256()))
    for extractor in EXTRACTORS:
        try:
            extractor.extract(cert)
        except CertificateError:
            pass


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1())


_KEY = _key()
