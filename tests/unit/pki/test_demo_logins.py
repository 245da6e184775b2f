"""The demo citizen and company log in through each of the three CAs; negatives are refused."""
import pytest

from idp.pki import CertificateError, CertificateIdentity, demo

DEMO_CAS = ["demo-gmt0015", "demo-cn", "demo-serial"]


def test_same_person_from_every_ca(pki, store):
    seen = set()
    for ca in DEMO_CAS:
        who = store.authenticate(pki.cert(ca, "person"), pki.chain(ca, "person"))
        assert isinstance(who, CertificateIdentity)
        assert who.profile == ca
        assert who.subject_kind == "person"
        assert who.name == demo.CITIZEN_NAME
        seen.add((who.id_type, who.id_number))
    assert seen == {("id_card", demo.CITIZEN_ID)}


def test_same_company_from_every_ca(pki, store):
    for ca in DEMO_CAS:
        who = store.authenticate(pki.cert(ca, "entity"), pki.chain(ca, "entity"))
        assert (who.subject_kind, who.id_type, who.id_number) == ("entity", "uscc", demo.COMPANY_USCC)
        assert who.name == demo.COMPANY_NAME


def test_gmt0015_enterprise_certificate_names_the_acting_person(pki, store):
    who = store.authenticate(pki.cert("demo-gmt0015", "entity"))
    assert who.acting_id_type == "id_card"
    assert who.acting_id_number == demo.CITIZEN_ID


def test_identity_carries_profile_decisions(pki, store):
    who = store.authenticate(pki.cert("demo-serial", "person"))
    assert who.amr == ("swk", "x509")
    assert who.acr == "urn:idp:loa:2"
    assert who.allow_create is True
    assert who.key_algorithm == "ecdsa-p256"
    assert len(who.fingerprint) == 64 and int(who.serial, 16) > 0
    assert "Demo serialNumber CA" in who.issuer
    hw = store.authenticate(pki.cert("demo-gmt0015", "person"))
    assert hw.amr == ("hwk", "x509") and hw.key_algorithm == "sm2"


def test_der_and_bare_base64_are_accepted(pki, store):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    import base64
    cert = x509.load_pem_x509_certificate(pki.cert("demo-serial", "person"))
    der = cert.public_bytes(Encoding.DER)
    assert store.authenticate(der).id_number == demo.CITIZEN_ID
    assert store.authenticate(base64.b64encode(der).decode()).id_number == demo.CITIZEN_ID






@pytest.mark.parametrize("role,code", [
    ("revoked", "revoked"), ("expired", "expired"), ("not_yet_valid", "not_yet_valid"),
    ("bad_key_usage", "bad_key_usage"), ("bad_id_check", "bad_id_check"),
    ("no_identity", "no_identity")])
@pytest.mark.parametrize("ca", DEMO_CAS)
def test_refusals(pki, store, ca, role, code):
    with pytest.raises(CertificateError) as err:
        store.authenticate(pki.cert(ca, role), pki.chain(ca, role))
    assert err.value.code == code
    assert err.value.message and err.value.message_zh


def test_every_manifest_expectation_holds(pki, store):
    for item in pki.manifest["certificates"]:
        try:
            store.authenticate(pki.read(item["cert"]), [pki.read(p) for p in item["chain"]])
            got = "ok"
        except CertificateError as exc:
            got = exc.code
        assert got == item["expected"], item


def test_untrusted_ca(pki, store):
    with pytest.raises(CertificateError) as err:
        store.authenticate(pki.cert("untrusted", "person"))
    assert err.value.code == "untrusted"
