"""SSO sessions: opaque cookie, hashed key, clients, step-up, per-person listing, ending once."""
from __future__ import annotations

import hashlib

import pytest

from idp.authn.result import ACR_CERTIFICATE, ACR_PASSWORD, AuthResult
from idp.sessions.sso import SessionManager
from idp.storage.memory import MemoryStore


@pytest.fixture
def sessions(clock):
    return SessionManager(MemoryStore(clock=clock), ttl=3600)


def _auth(person_id=7, acr=ACR_PASSWORD, method="password", amr=("pwd",), **extra):
    return AuthResult(person_id=person_id, method=method, acr=acr, amr=amr, auth_time=1_800_000_000, **extra)


def test_the_cookie_value_is_not_stored(sessions):
    token, session = sessions.create(_auth(), ip="127.0.0.1", user_agent="UA " * 200)
    assert session.key == hashlib.sha256(token.encode()).hexdigest() and session.key != token
    assert sessions.store.get("sso", token) is None
    loaded = sessions.load(token)
    assert loaded.sid == session.sid and loaded.person_id == 7 and len(loaded.user_agent) == 256


@pytest.mark.parametrize("token", [None, "", "x" * 129, "not-a-session"])
def test_unknown_or_malformed_cookies_load_nothing(sessions, token):
    sessions.create(_auth())
    assert sessions.load(token) is None


def test_clients_and_step_up_stay_in_one_session(sessions):
    token, session = sessions.create(_auth())
    sessions.add_client(session, "portal-a")
    sessions.add_client(session, "cas:3")
    stepped = sessions.reauthenticate(session, _auth(acr=ACR_CERTIFICATE, method="certificate", amr=("hwk",),
                                                     certificate={"serial": "01"}, entity_id=5))
    loaded = sessions.load(token)
    assert loaded.sid == session.sid == stepped.sid
    assert loaded.acr == ACR_CERTIFICATE and loaded.amr == ["hwk"] and loaded.entity_id == 5
    assert loaded.clients == {"portal-a", "cas:3"}
    with pytest.raises(ValueError):
        sessions.reauthenticate(session, _auth(person_id=8))


def test_for_person_lists_the_persons_live_sessions(sessions, clock):
    _t1, first = sessions.create(_auth())
    clock.now += 10
    _t2, second = sessions.create(_auth())
    sessions.create(_auth(person_id=9))
    listed = sessions.for_person(7)
    assert {s.sid for s in listed} == {first.sid, second.sid}
    assert [s.created_at for s in listed] == sorted(s.created_at for s in listed)
    clock.now += 3600
    assert sessions.for_person(7) == []


def test_a_session_ends_once_with_its_clients(sessions):
    token, session = sessions.create(_auth())
    sessions.add_client(session, "portal-a")
    ended = sessions.end(session)
    assert ended.sid == session.sid and ended.clients == {"portal-a"}
    assert sessions.end(session) is None
    assert sessions.load(token) is None and sessions.for_person(7) == []


def test_sessions_expire(sessions, clock):
    token, _session = sessions.create(_auth())
    clock.now += 3599
    assert sessions.load(token) is not None
    clock.now += 2
    assert sessions.load(token) is None
