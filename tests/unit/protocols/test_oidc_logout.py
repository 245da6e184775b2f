"""OIDC's part of single logout, on every backend: when an SSO session ends, each of its clients that
registered a back-channel logout URI is sent a logout token it can verify (OIDC Back-Channel Logout 1.0
2.4) naming the person as that client knows them, and the tokens issued through the session lose their
refresh ability while those of other sessions keep it."""
from __future__ import annotations

import secrets
import time

import pytest

from helpers import ISSUER, decode_jwt
from idp.authn.result import ACR_PASSWORD, AuthResult
from idp.clients.service import register_client
from idp.identity.claims import subject_for
from idp.identity.models import Person
from idp.protocols.oidc.logout import EVENT
from idp.sessions.logout import end_session_everywhere
from idp.storage.tokens import NewToken

pytestmark = pytest.mark.every_backend


@pytest.fixture
def sent(app, monkeypatch):
    """What the notifier was asked to deliver: [(client_id, uri, logout token)]."""
    calls = []
    monkeypatch.setattr(app.extensions["idp"].notifier, "send",
                        lambda client_id, uri, message, **options: calls.append((client_id, uri, message)))
    return calls


def _client(name, **metadata):
    return register_client(name=name, redirect_uris=[f"https://{name}.example.gov.cn/cb"],
                           scopes=["openid", "profile"], **metadata).client


def _session(core, person, client_ids):
    _token, session = core.sessions.create(AuthResult(person_id=person.id, method="password", acr=ACR_PASSWORD,
                                                      amr=("pwd",)))
    for client_id in client_ids:
        core.sessions.add_client(session, client_id)
    return session


def _issue(core, person, client_id, sid) -> str:
    """Tokens for ``client_id`` issued through session ``sid``; returns the refresh token."""
    now, refresh = time.time(), secrets.token_urlsafe(32)
    core.tokens.issue(NewToken(access_token=secrets.token_urlsafe(32), refresh_token=refresh, client_id=client_id,
                               person_id=person.id, scope="openid profile", family_id=secrets.token_hex(16),
                               code_id=None, sid=sid, auth_time=int(now), acr=ACR_PASSWORD, amr=["pwd"],
                               entity_id=None, issued_at=now, access_expires_at=now + 300,
                               refresh_expires_at=now + 3600), audit={"grant_type": "test"})
    return refresh


def test_each_client_with_a_back_channel_uri_gets_a_logout_token_it_can_verify(app, ctx, citizen, sent):
    core = app.extensions["idp"]
    person = Person.query.filter_by(public_id=citizen).one()
    public = _client("shebao", backchannel_logout_uri="https://shebao.example.gov.cn/bc")
    pairwise = _client("gjj", backchannel_logout_uri="https://gjj.example.gov.cn/bc",
                       sector_identifier="gjj.gov.cn", id_token_alg="ES256")
    silent = _client("news")  # no back-channel URI: nothing to tell it
    session = _session(core, person, [public.client_id, pairwise.client_id, silent.client_id, "deleted-client"])

    assert end_session_everywhere(core, session) is not None
    assert sorted((client_id, uri) for client_id, uri, _ in sent) == sorted(
        [(public.client_id, public.backchannel_logout_uri), (pairwise.client_id, pairwise.backchannel_logout_uri)])
    jtis = set()
    for client_id, _uri, message in sent:
        client = public if client_id == public.client_id else pairwise
        token = decode_jwt(app, message)
        assert token.header["typ"] == "logout+jwt"
        assert token.header["alg"] == (client.id_token_signed_response_alg or "RS256")
        claims = token.claims
        assert claims["iss"] == ISSUER and claims["aud"] == client_id
        assert claims["sub"] == subject_for(citizen, client, core.pairwise_salt), "the sub its ID tokens carry"
        assert claims["sid"] == session.sid and claims["events"] == {EVENT: {}}
        assert "nonce" not in claims, "a logout token must not carry a nonce (2.4)"
        assert 0 < claims["exp"] - claims["iat"] <= 300 and abs(claims["iat"] - time.time()) < 60
        jtis.add(claims["jti"])
    assert len(jtis) == 2
    subs = {decode_jwt(app, message).claims["sub"] for *_, message in sent}
    assert citizen in subs and len(subs) == 2, "the pairwise client gets its own subject"


def test_tokens_of_the_ended_session_lose_their_refresh_and_others_keep_it(app, ctx, citizen, sent):
    core = app.extensions["idp"]
    person = Person.query.filter_by(public_id=citizen).one()
    portal = _client("portal")
    ending, staying = _session(core, person, [portal.client_id]), _session(core, person, [portal.client_id])
    ended_refresh = _issue(core, person, portal.client_id, ending.sid)
    kept_refresh = _issue(core, person, portal.client_id, staying.sid)

    end_session_everywhere(core, ending)
    assert core.tokens.find_token(ended_refresh, "refresh_token").is_revoked()
    assert not core.tokens.find_token(kept_refresh, "refresh_token").is_revoked()
    assert core.sessions.get(staying.key) is not None and core.sessions.get(ending.key) is None
    assert sent == [], "no client of these sessions asked to be told"
