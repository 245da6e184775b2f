"""Initial access tokens (RFC 7591) and registration access tokens (RFC 7592), on SQLite and PostgreSQL:
which token opens what, how many registrations an initial token allows even when they race, and that
only a hash of a token is ever stored or shown."""
from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.audit.models import AuditEvent
from idp.errors import NotFound, ValidationError
from idp.extensions import db
from idp.protocols.oidc.registration_tokens import (INITIAL, MAX_TOKEN_LENGTH, REGISTRATION, RegistrationToken,
                                                    claim_initial_use, find_token, issue_initial_token,
                                                    list_initial_tokens, new_registration_token,
                                                    revoke_initial_token, revoke_registration_tokens)

pytestmark = pytest.mark.every_backend("sqlite", "postgres")


class Client:
    def __init__(self, client_id):
        self.client_id = client_id

    def get_client_id(self):
        return self.client_id


def _row(token_id) -> RegistrationToken:
    return db.session.get(RegistrationToken, token_id)


def test_an_initial_token_opens_registration_only_and_is_stored_hashed(ctx):
    issued = issue_initial_token(uses=2, note=" 部门门户接入 ", issued_by="admin-1")
    token = issued["token"]
    assert issued["uses_left"] == 2 and issued["note"] == "部门门户接入" and issued["kind"] == INITIAL
    row = find_token(token, INITIAL)
    assert row is not None and row.id == issued["id"]
    assert find_token(token, REGISTRATION) is None, "an initial token does not manage a registration"
    assert not row.check_client(Client("any")), "nor any client"
    stored = repr([(r.token_hash, r.note) for r in db.session.scalars(db.select(RegistrationToken))])
    assert token not in stored and len(row.token_hash) == 64
    listed = list_initial_tokens()
    assert [t["id"] for t in listed] == [issued["id"]] and token not in repr(listed)
    assert datetime.fromisoformat(listed[0]["expires_at"]).utcoffset().total_seconds() == 0
    [event] = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "registration.initial_token_issued"))
    assert event.data["token_id"] == issued["id"] and token not in repr(event.data)


@pytest.mark.parametrize("arguments", [{"expires_in": 0}, {"expires_in": -5}, {"uses": 0}, {"uses": "3"},
                                       {"note": "x" * 256}])
def test_bad_initial_token_requests_are_refused_and_store_nothing(ctx, arguments):
    with pytest.raises(ValidationError):
        issue_initial_token(**arguments)
    assert list_initial_tokens() == []


@pytest.fixture
def issued_tokens(app):
    """{kind: token} of one usable token of each kind."""
    with app.app_context():
        tokens = {INITIAL: issue_initial_token(uses=5)["token"], REGISTRATION: new_registration_token("client-a")}
        db.session.commit()
    return tokens


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.none(), st.integers(), st.just(""), st.text(max_size=60),
                       st.text(min_size=MAX_TOKEN_LENGTH + 1, max_size=MAX_TOKEN_LENGTH + 3)),
       position=st.integers(0, 42), replacement=st.characters(blacklist_categories=("Cs",)))
def test_only_the_issued_token_itself_finds_its_row(app, issued_tokens, value, position, replacement):
    with app.app_context():
        for kind, token in issued_tokens.items():
            assert find_token(token, kind) is not None
            near = token[:position] + replacement + token[position + 1:]
            for candidate in (value, near if near != token else None, token + "=", " " + token):
                assert find_token(candidate, kind) is None, candidate


def test_a_used_up_expired_or_revoked_initial_token_finds_nothing(ctx):
    used_up, expired, revoked = (issue_initial_token(uses=1) for _ in range(3))
    assert claim_initial_use(_row(used_up["id"]))
    db.session.execute(db.update(RegistrationToken).where(RegistrationToken.id == expired["id"])
                       .values(expires_at=time.time() - 1))
    db.session.commit()
    revoke_initial_token(revoked["id"], revoked_by="admin-1")
    for issued in (used_up, expired, revoked):
        assert find_token(issued["token"], INITIAL) is None
    assert not claim_initial_use(_row(revoked["id"])), "a revoked token gives no more uses"
    assert {t["id"]: t["revoked"] for t in list_initial_tokens()}[revoked["id"]] is True


def test_a_registration_token_manages_its_own_client_only(ctx):
    own, other = new_registration_token("client-a"), new_registration_token("client-b")
    db.session.commit()
    row = find_token(own, REGISTRATION)
    assert row is not None and row.check_client(Client("client-a"))
    assert not row.check_client(Client("client-b")) and not row.check_client(None)
    assert find_token(own, INITIAL) is None, "it cannot register new clients"
    revoke_registration_tokens("client-a")
    db.session.commit()
    assert find_token(own, REGISTRATION) is None
    assert find_token(other, REGISTRATION) is not None, "another client's token is untouched"


def test_revoking_what_is_not_an_initial_token_is_not_found(ctx):
    new_registration_token("client-a")
    db.session.commit()
    registration_id = db.session.scalar(db.select(RegistrationToken.id))
    for token_id in (registration_id, 10_000):
        with pytest.raises(NotFound):
            revoke_initial_token(token_id)
    assert _row(registration_id).revoked is False


def test_racing_registrations_take_no_more_uses_than_the_token_has(app):
    """Eight registrations at once with a token good for three: three get a use, the others none."""
    uses, racers = 3, 8
    with app.app_context():
        token_id = issue_initial_token(uses=uses)["id"]
    barrier = threading.Barrier(racers, timeout=30)
    results, errors = [], []

    def register():
        try:
            with app.app_context():
                row = _row(token_id)
                barrier.wait()
                claimed = claim_initial_use(row)
                db.session.commit()
                results.append(claimed)
        except Exception as exc:  # the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and len(results) == racers
    assert results.count(True) == uses
    with app.app_context():
        assert _row(token_id).uses_left == 0 and not _row(token_id).usable()
