"""Chains, malformed and oversized input, revocation failure modes, challenge signatures."""
import base64
import datetime as dt
import tomllib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from idp.pki import (CertificateError, TrustStore, parse_profile, verify_challenge_signature)
from idp.pki.signer import sign_challenge


def _profile(pki, name, **changes):
    path = pki.profiles / f"{name}.toml"
    raw = tomllib.loads(path.read_text())
    for dotted, value in changes.items():
        section, _, key = dotted.rpartition(".")
        target = raw[section] if section else raw
        target[key] = value
    return parse_profile(raw, base=path.parent)


def _code(store, cert, chain=(), **kw):
    try:
        store.authenticate(cert, chain, **kw)
        return "ok"
    except CertificateError as exc:
        return exc.code


# -- chains ------------------------------------------------------------------------------

def test_intermediate_supplied_by_client_when_profile_trusts_only_root(pki):
    store = TrustStore([_profile(pki, "demo-cn", **{"trust.intermediates": []})])
    leaf = pki.cert("demo-cn", "person")
    assert _code(store, leaf, [pki.read("demo-cn/intermediate.pem")]) == "ok"
    assert _code(store, leaf) == "untrusted"
    assert _code(store, leaf, [pki.read("demo-cn/rogue-intermediate.pem")]) == "untrusted"


def test_leaf_from_rogue_intermediate_with_same_name_is_untrusted(pki, store):
    entry = pki.entry("demo-cn", "rogue_issued")
    assert _code(store, pki.read(entry["cert"]), [pki.read(p) for p in entry["chain"]]) == "untrusted"


def test_validation_time_is_taken_from_now_argument(pki, store):
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3700)
    assert _code(store, pki.cert("demo-cn", "person"), now=later) == "expired"


def test_key_algorithm_not_in_profile_is_refused(pki):
    store = TrustStore([_profile(pki, "demo-serial", key_algorithms=["rsa"])])
    assert _code(store, pki.cert("demo-serial", "person")) == "untrusted"


def test_required_eku_missing_is_bad_key_usage(pki):
    store = TrustStore([_profile(pki, "demo-serial", **{"key_usage.extended": ["code_signing"]})])
    assert _code(store, pki.cert("demo-serial", "person")) == "bad_key_usage"


# -- malformed and oversized ---------------------------------------------------------------

@pytest.mark.parametrize("data,code", [
    (b"", "malformed"),
    ("not a certificate", "malformed"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "malformed"),
    (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "malformed"),
    (b"\x30\x82\xff\xff\x00", "malformed"),
    (b"\x30\x03\x02\x01\x01", "malformed"),
    ("证书", "malformed"),
    (b"A" * 30000, "too_large"),
    (b"\x30\x82\x50\x00" + b"\x00" * 0x5000, "too_large"),
    (12345, "malformed"),
])
def test_bad_input_is_refused_cleanly(store, data, code):
    assert _code(store, data) == code


def test_truncated_der_is_malformed(pki, store):
    der = x509.load_pem_x509_certificate(pki.cert("demo-cn", "person")).public_bytes(
        serialization.Encoding.DER)
    assert _code(store, der[:-10]) == "malformed"


def test_too_many_chain_certificates(pki, store):
    leaf = pki.cert("demo-cn", "person")
    assert _code(store, leaf, [pki.read("demo-cn/intermediate.pem")] * 9) == "too_large"


# -- revocation failure modes ------------------------------------------------------------------

def _forged_crl(pki, tmp_path):
    root = x509.load_pem_x509_certificate(pki.read("demo-serial/root.pem"))
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(root.subject)
           .last_update(now - dt.timedelta(hours=1)).next_update(now + dt.timedelta(days=1))
           .sign(key, hashes.SHA256()))
    path = tmp_path / "forged.crl"
    path.write_bytes(crl.public_bytes(serialization.Encoding.DER))
    return str(path)


def test_crl_with_bad_signature_is_never_used(pki, tmp_path):
    forged = _forged_crl(pki, tmp_path)
    store = TrustStore([_profile(pki, "demo-serial", **{"revocation.crl_urls": [forged]})])
    assert _code(store, pki.cert("demo-serial", "person")) == "revocation_unknown"
    # the revoked certificate is not on the forged CRL; it must not pass either
    assert _code(store, pki.cert("demo-serial", "revoked")) == "revocation_unknown"


def test_fail_open_accepts_unknown_status(pki, tmp_path):
    forged = _forged_crl(pki, tmp_path)
    store = TrustStore([_profile(pki, "demo-serial", **{"revocation.crl_urls": [forged],
                                                         "revocation.fail_open": True})])
    assert _code(store, pki.cert("demo-serial", "person")) == "ok"


def test_missing_crl_fails_closed(pki, tmp_path):
    store = TrustStore([_profile(pki, "demo-serial",
                                 **{"revocation.crl_urls": [str(tmp_path / "none.crl")]})])
    assert _code(store, pki.cert("demo-serial", "person")) == "revocation_unknown"


def test_revocation_none_skips_check(pki):
    store = TrustStore([_profile(pki, "demo-serial", **{"revocation.mode": "none"})])
    assert _code(store, pki.cert("demo-serial", "revoked")) == "ok"


# -- challenge signatures --------------------------------------------------------------------

def _signed(pki, ca, role, challenge):
    entry = pki.entry(ca, role)
    if "p12" in entry:
        return sign_challenge(challenge, p12=pki.read(entry["p12"]), password="demo")
    return sign_challenge(challenge, key=pki.read(entry["key"]), cert=pki.read(entry["cert"]),
                          chain=[pki.read(p) for p in entry["chain"]], password="demo")


@pytest.mark.parametrize("ca,alg", [("demo-cn", "RS256"), ("demo-serial", "ES256"),
                                    ("demo-gmt0015", "SM2-SM3")])
def test_challenge_signature(pki, store, ca, alg):
    challenge = b"login:nonce-4f1c2a"
    out = _signed(pki, ca, "person", challenge)
    assert out["algorithm"] == alg
    who = store.authenticate(out["certificate"], out["chain"])
    sig = base64.b64decode(out["signature"])
    assert store.verify_challenge(who, challenge, sig) == alg
    profile = store.profiles[ca]
    assert verify_challenge_signature(out["certificate"], challenge, sig, profile) == alg
    with pytest.raises(CertificateError) as err:
        store.verify_challenge(who, challenge + b"x", sig)
    assert err.value.code == "bad_signature"
    # signed by another key (the company's), presented with the person's certificate
    other = base64.b64decode(_signed(pki, ca, "entity", challenge)["signature"])
    with pytest.raises(CertificateError) as err:
        store.verify_challenge(who, challenge, other)
    assert err.value.code == "bad_signature"


def test_challenge_garbage_signature(pki, store):
    who = store.authenticate(pki.cert("demo-serial", "person"))
    for sig in (b"", b"\x30\x00", b"x" * 5000):
        with pytest.raises(CertificateError) as err:
            store.verify_challenge(who, b"abc", sig)
        assert err.value.code == "bad_signature"
