"""The certificate authenticators (signed challenge, mutual TLS) against the demo PKI.

Every refusal is an ``AuthnError`` with a stable code; a certificate refusal names its trust profile
for the audit record once the certificate has been validated.
"""
from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import CITIZEN_ID, ISSUER
from idp.authn import AuthnError, LoginContext
from idp.authn import challenge as challenges
from idp.authn.certificate import OTHER_PERSON, CertificateRefused
from idp.authn.mutual_tls import NO_CERTIFICATE, ClientCertificate, MutualTlsAuthenticator
from idp.authn.result import ACR_CERTIFICATE, ACR_PASSWORD
from idp.authn.signed_challenge import (MAX_CHAIN, SignedChallenge, SignedChallengeAuthenticator)
from idp.identity.models import Person
from idp.identity.service import create_person
from idp.extensions import db
from idp.storage.memory import MemoryStore

DEMO_CAS = ("demo-gmt0015", "demo-cn", "demo-serial")
OTHER_ID = "110101199003077571"
SHAPE_CODES = {"invalid_request", "malformed", "too_large"}
fixtures_per_example = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None,
                                max_examples=25)


@pytest.fixture(scope="module")
def trust(pki):
    store = pki.store()
    assert not store.problems
    return store


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture
def signed(trust, store, ctx):
    return SignedChallengeAuthenticator(trust, store)


def answer(pki, store, ca="demo-cn", role="person", tx=None) -> dict:
    """The signing software's answer to a fresh challenge."""
    record = challenges.issue_challenge(store, ISSUER, tx)
    return dict(pki.sign(ca, role, record["challenge"]), challenge_id=record["challenge_id"], tx=tx)


def refusal(call) -> AuthnError:
    with pytest.raises(AuthnError) as caught:
        call()
    return caught.value


# -- signed challenge ------------------------------------------------------------------------------

@pytest.mark.parametrize("ca", DEMO_CAS)
def test_every_ca_logs_in_the_same_person_with_what_the_audit_needs(pki, store, signed, ca):
    person = create_person(id_number=CITIZEN_ID, name="张三")
    auth = signed.authenticate(SignedChallenge.parse(answer(pki, store, ca)), LoginContext(ip="192.0.2.1"))
    assert auth.person_id == person.id and auth.method == "certificate"
    assert auth.acr != ACR_PASSWORD and "x509" in auth.amr
    assert auth.certificate["profile"] == ca
    assert auth.details == {"person": person.public_id, "profile": ca, "issuer": auth.certificate["issuer"],
                            "serial": auth.certificate["serial"], "entity": None}


def test_a_challenge_answers_once(pki, store, signed):
    credentials = SignedChallenge.parse(answer(pki, store))
    signed.authenticate(credentials, LoginContext())
    again = refusal(lambda: signed.authenticate(credentials, LoginContext()))
    assert isinstance(again, challenges.ChallengeError) and again.code == challenges.REPLAYED


def test_a_stale_challenge_is_refused_before_the_certificate_is_looked_at(pki, store, signed, monkeypatch):
    credentials = SignedChallenge.parse(answer(pki, store))
    now = challenges._clock()
    monkeypatch.setattr(challenges, "_clock", lambda: now + challenges.TTL + 1)
    stale = refusal(lambda: signed.authenticate(credentials, LoginContext()))
    assert stale.code == challenges.EXPIRED and "profile" not in stale.details
    assert db.session.query(Person).count() == 0


def test_a_challenge_of_another_login_is_refused(pki, store, signed):
    issued_for_a_portal = answer(pki, store, tx="tx-1")
    moved = SignedChallenge.parse(dict(issued_for_a_portal, tx="tx-2"))
    assert refusal(lambda: signed.authenticate(moved, LoginContext())).code == challenges.OTHER_TX
    unbound = SignedChallenge.parse(dict(answer(pki, store), tx="tx-1"))
    assert refusal(lambda: signed.authenticate(unbound, LoginContext())).code == challenges.OTHER_TX


def test_an_unknown_challenge_is_refused(pki, store, signed):
    forged = SignedChallenge.parse(dict(answer(pki, store), challenge_id="never-issued"))
    assert refusal(lambda: signed.authenticate(forged, LoginContext())).code == challenges.UNKNOWN


@pytest.mark.parametrize("ca", DEMO_CAS)
@given(claimed=st.sampled_from(["RS256", "ES256", "SM2-SM3", "PS256", "none", "rs256"]) | st.text(min_size=1))
@fixtures_per_example
def test_a_signature_claiming_another_algorithm_is_refused(pki, store, signed, ca, claimed):
    honest = answer(pki, store, ca)
    if claimed == honest["algorithm"]:
        return
    credentials = SignedChallenge.parse(dict(honest, algorithm=claimed))
    wrong = refusal(lambda: signed.authenticate(credentials, LoginContext()))
    assert isinstance(wrong, CertificateRefused)
    assert wrong.code == "bad_signature" and wrong.details == {"profile": ca}


def test_a_signature_over_other_text_is_refused(pki, store, signed):
    issued = answer(pki, store)
    over_other_text = pki.sign("demo-cn", "person", "idp-login:somewhere-else")
    credentials = SignedChallenge.parse(dict(issued, signature=over_other_text["signature"]))
    wrong = refusal(lambda: signed.authenticate(credentials, LoginContext()))
    assert wrong.code == "bad_signature" and wrong.details == {"profile": "demo-cn"}


@pytest.mark.parametrize("role, code", [("revoked", "revoked"), ("expired", "expired"),
                                        ("bad_key_usage", "bad_key_usage"), ("no_identity", "no_identity")])
def test_a_certificate_the_trust_profiles_refuse_keeps_their_code(pki, store, signed, role, code):
    credentials = SignedChallenge.parse(answer(pki, store, "demo-serial", role))
    refused = refusal(lambda: signed.authenticate(credentials, LoginContext()))
    assert isinstance(refused, CertificateRefused) and refused.code == code


def test_a_certificate_of_an_unknown_ca_is_untrusted(pki, store, signed):
    credentials = SignedChallenge.parse(answer(pki, store, "untrusted", "person"))
    assert refusal(lambda: signed.authenticate(credentials, LoginContext())).code == "untrusted"


# -- step-up ---------------------------------------------------------------------------------------

def test_step_up_with_someone_elses_certificate_is_refused(pki, store, signed):
    other = create_person(id_number=OTHER_ID, name="李四")
    step_up = LoginContext(session_person_id=other.id, step_up=True)
    refused = refusal(lambda: signed.authenticate(SignedChallenge.parse(answer(pki, store)), step_up))
    assert isinstance(refused, CertificateRefused)
    assert refused.code == OTHER_PERSON and refused.details == {"profile": "demo-cn"}


def test_step_up_by_the_same_person_is_accepted(pki, store, signed):
    person = create_person(id_number=CITIZEN_ID, name="张三")
    step_up = LoginContext(session_person_id=person.id, step_up=True)
    assert signed.authenticate(SignedChallenge.parse(answer(pki, store)), step_up).person_id == person.id


def test_a_new_login_over_someone_elses_session_is_not_a_step_up(pki, store, signed):
    other = create_person(id_number=OTHER_ID, name="李四")
    auth = signed.authenticate(SignedChallenge.parse(answer(pki, store)), LoginContext(session_person_id=other.id))
    assert auth.person_id != other.id


# -- enterprise certificates -----------------------------------------------------------------------

def test_an_enterprise_certificate_without_a_registered_representative_names_its_profile(pki, store, signed):
    from idp.pki import demo
    from idp.identity.service import create_entity
    create_entity(uscc=demo.COMPANY_USCC, name=demo.COMPANY_NAME)
    create_person(id_number=CITIZEN_ID, name="张三")
    refused = refusal(lambda: signed.authenticate(SignedChallenge.parse(answer(pki, store, "demo-cn", "entity")),
                                                  LoginContext()))
    assert refused.code in {"not_representative", "no_acting_person"} and refused.details == {"profile": "demo-cn"}


# -- the answer's shape ----------------------------------------------------------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=4),
                           max_leaves=12)
MEMBERS = ("challenge_id", "certificate", "chain", "signature", "algorithm", "tx", "malformed")


@given(st.one_of(json_values, st.fixed_dictionaries({}, optional={k: json_values for k in MEMBERS})))
def test_any_answer_either_parses_or_is_refused_with_a_shape_code(data):
    try:
        parsed = SignedChallenge.parse(data)
    except AuthnError as exc:
        assert exc.code in SHAPE_CODES
    else:
        assert parsed.challenge_id and parsed.certificate and isinstance(parsed.signature, bytes)
        assert all(isinstance(c, str) for c in parsed.chain)


def test_answer_shape_refusals():
    good = {"challenge_id": "c", "certificate": "PEM", "signature": base64.b64encode(b"s").decode()}
    assert SignedChallenge.parse(good).signature == b"s"
    assert SignedChallenge.parse(dict(good, chain="one")).chain == ("one",)
    assert SignedChallenge.parse(dict(good, tx="")).tx_id is None
    for data, code in [([], "invalid_request"), ({"malformed": True}, "malformed"),
                       (dict(good, challenge_id=""), "invalid_request"), (dict(good, signature=None), "invalid_request"),
                       (dict(good, certificate=["PEM"]), "malformed"), (dict(good, chain=[1]), "malformed"),
                       (dict(good, algorithm=256), "malformed"), (dict(good, signature="not base64!"), "malformed"),
                       (dict(good, chain=["x"] * (MAX_CHAIN + 1)), "too_large"),
                       (dict(good, signature="A" * 4100), "too_large")]:
        assert refusal(lambda: SignedChallenge.parse(data)).code == code, data


# -- mutual TLS ------------------------------------------------------------------------------------

@pytest.fixture
def mutual_tls(trust, ctx):
    return MutualTlsAuthenticator(trust)


@pytest.mark.parametrize("pem", [None, ""])
def test_no_client_certificate_is_refused(mutual_tls, pem):
    assert refusal(lambda: mutual_tls.authenticate(ClientCertificate(pem), LoginContext())).code == NO_CERTIFICATE


def test_client_certificate_logs_in_and_obeys_the_step_up_rule(pki, mutual_tls):
    pem = pki.cert("demo-serial", "person").decode()
    auth = mutual_tls.authenticate(ClientCertificate(pem), LoginContext())
    assert auth.acr == ACR_CERTIFICATE and auth.details["profile"] == "demo-serial"
    other = create_person(id_number=OTHER_ID, name="李四")
    step_up = LoginContext(session_person_id=other.id, step_up=True)
    assert refusal(lambda: mutual_tls.authenticate(ClientCertificate(pem), step_up)).code == OTHER_PERSON


@given(garbage=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
@fixtures_per_example
def test_garbage_in_place_of_a_client_certificate_is_refused_with_a_code(mutual_tls, garbage):
    if not garbage:
        return
    assert refusal(lambda: mutual_tls.authenticate(ClientCertificate(garbage), LoginContext())).code in {
        "malformed", "too_large", "untrusted"}


def test_trust_profiles_are_reloaded_when_they_change(pki, tmp_path, ctx):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    trust = type(pki.store()).from_directory(profiles)
    authenticator = MutualTlsAuthenticator(trust)
    pem = pki.cert("demo-serial", "person").decode()
    assert refusal(lambda: authenticator.authenticate(ClientCertificate(pem), LoginContext())).code == "untrusted"
    for path in pki.profiles.glob("*.toml"):  # the profiles name their files relative to their directory
        (profiles / path.name).write_text(path.read_text().replace('"../', f'"{pki.root}/'))
    assert authenticator.authenticate(ClientCertificate(pem), LoginContext()).details["profile"] == "demo-serial"
