"""One conformance suite for every TokenStore backend: SQLite and PostgreSQL.

Each backend gets its own database (a SQLite file, a PostgreSQL schema) with the tables the store
reads and writes, and a thread-local session as the app's ``db.session`` is.
"""
from __future__ import annotations

import secrets
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import scoped_session, sessionmaker

from backends import postgres_schema_engine
from idp.audit.models import AuditEvent
from idp.identity.models import Person
from idp.storage.sql_tokens import SqlTokenStore
from idp.storage.token_hash import token_hash
from idp.storage.token_models import AuthorizationCode, Token
from idp.storage.tokens import AlreadyClaimed, NewCode, NewToken, TokenStore

THREADS = 8
TABLES = [Person.__table__, AuthorizationCode.__table__, Token.__table__, AuditEvent.__table__]


@pytest.fixture(scope="module")
def pg_token_engine(pg_url):
    """A schema of its own with the token store's tables, dropped after the module."""
    with postgres_schema_engine("idp_tokens", TABLES, pool_size=THREADS + 2) as engine:
        yield engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "postgres":
        return request.getfixturevalue("pg_token_engine")
    from idp.extensions import db
    engine = create_engine(f"sqlite:///{tmp_path}/tokens.db", pool_size=THREADS + 2)
    db.metadata.create_all(engine, tables=TABLES)
    request.addfinalizer(engine.dispose)
    return engine


@pytest.fixture
def session(engine):
    session = scoped_session(sessionmaker(bind=engine))
    yield session
    session.remove()


@pytest.fixture
def store(session) -> SqlTokenStore:
    return SqlTokenStore(session)


def _person(engine, *, disabled=False) -> int:
    with engine.begin() as conn:
        return conn.execute(insert(Person.__table__).values(
            id_number=secrets.token_hex(8), name="张三", email=f"{secrets.token_hex(6)}@example.gov.cn",
            disabled=disabled).returning(Person.__table__.c.id)).scalar_one()


def _code(person_id, client_id="client-a", **changes) -> NewCode:
    values = dict(code=secrets.token_urlsafe(32), client_id=client_id, person_id=person_id,
                  redirect_uri="https://portal.example/cb", scope="openid profile", nonce=secrets.token_hex(8),
                  code_challenge="c" * 43, code_challenge_method="S256", auth_time=int(time.time()), acr="pwd",
                  amr=["pwd", "otp"], sid=secrets.token_hex(8), entity_id=None, expires_at=time.time() + 60)
    values.update(changes)
    return NewCode(**values)


def _token(person_id=None, client_id="client-a", *, family_id=None, code_id=None, sid=None, refresh=True,
           access_token=None) -> NewToken:
    now = time.time()
    return NewToken(access_token=access_token or secrets.token_urlsafe(32),
                    refresh_token=secrets.token_urlsafe(32) if refresh else None, client_id=client_id,
                    person_id=person_id, scope="openid profile", family_id=family_id or secrets.token_hex(8),
                    code_id=code_id, sid=sid, auth_time=int(now), acr="pwd", amr=["pwd"], entity_id=None,
                    issued_at=now, access_expires_at=now + 300, refresh_expires_at=now + 3600 if refresh else None)


def _issued_events(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(AuditEvent.__table__)
                           .where(AuditEvent.__table__.c.event == "token.issued"))


def _issue(store, token, **claims):
    store.issue(token, audit={"client_id": token["client_id"], "refresh": token["refresh_token"] is not None},
                **claims)
    return token


def run_concurrently(fn, session, n=THREADS):
    """Call ``fn()`` from n threads released together, each with its own session; return the results."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def worker(i):
        try:
            barrier.wait(timeout=10)
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    if errors:
        raise errors[0]
    return results


# --- codes ------------------------------------------------------------------------------------
def test_store_implements_the_interface(store):
    assert isinstance(store, TokenStore)


def test_a_saved_code_is_found_with_its_person_by_its_client_only(store, engine):
    person_id = _person(engine)
    new = _code(person_id)
    store.save_code(new)
    found = store.find_code(new["code"], "client-a")
    assert found is not None and found.used_at is None and not found.is_expired()
    assert (found.client_id, found.person_id, found.redirect_uri, found.scope, found.nonce, found.amr, found.sid) == \
        ("client-a", person_id, new["redirect_uri"], new["scope"], new["nonce"], ["pwd", "otp"], new["sid"])
    assert (found.get_redirect_uri(), found.get_scope(), found.get_nonce(), found.get_acr(), found.get_amr()) == \
        (new["redirect_uri"], new["scope"], new["nonce"], "pwd", ["pwd", "otp"])
    assert found.person.id == person_id and found.person.name == "张三" and found.person.public_id
    assert store.find_code(new["code"], "client-b") is None
    assert store.find_code(secrets.token_urlsafe(32), "client-a") is None


def test_a_code_is_stored_only_as_its_hash(store, engine):
    new = _code(_person(engine))
    store.save_code(new)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(select(AuthorizationCode.__table__))]
    assert rows and new["code"] not in repr(rows)
    assert token_hash(new["code"]) in repr(rows)  # the one stored form (tests/unit/storage/test_token_hash.py)


def test_a_code_of_a_disabled_person_is_found_without_its_person(store, engine):
    new = _code(_person(engine, disabled=True))
    store.save_code(new)
    found = store.find_code(new["code"], "client-a")
    assert found is not None and found.person is None


def test_an_expired_code_says_so(store, engine):
    new = _code(_person(engine), expires_at=time.time() - 1)
    store.save_code(new)
    assert store.find_code(new["code"], "client-a").is_expired()


def test_nonces_are_remembered_per_client(store, engine):
    new = _code(_person(engine))
    store.save_code(new)
    assert store.nonce_used("client-a", new["nonce"])
    assert not store.nonce_used("client-b", new["nonce"])
    assert not store.nonce_used("client-a", secrets.token_hex(8))


def test_a_code_is_consumed_once(store, engine):
    new = _code(_person(engine))
    store.save_code(new)
    code_id = store.find_code(new["code"], "client-a").id
    assert store.consume_code(code_id) is True
    assert store.consume_code(code_id) is False
    assert store.find_code(new["code"], "client-a").used_at is not None


# --- issuing ----------------------------------------------------------------------------------
def test_issued_tokens_are_found_by_each_value_and_kind(store, engine):
    person_id = _person(engine)
    token = _issue(store, _token(person_id))
    by_access = store.find_token(token["access_token"], "access_token")
    by_refresh = store.find_token(token["refresh_token"], "refresh_token")
    assert by_access == by_refresh and by_access is not None
    assert (by_access.client_id, by_access.person_id, by_access.family_id, by_access.amr) == \
        ("client-a", person_id, token["family_id"], ["pwd"])
    assert by_access.person.id == person_id and by_access.person.name == "张三" and by_access.person.public_id
    assert not (by_access.revoked or by_access.access_revoked or by_access.refresh_used)
    assert not by_access.is_expired() and not by_access.is_revoked() and not by_access.refresh_expired()
    assert store.find_token(token["access_token"], "refresh_token") is None
    assert store.find_token(token["refresh_token"], "access_token") is None
    with engine.connect() as conn:
        dump = repr([tuple(row) for row in conn.execute(select(Token.__table__))])
    assert token["access_token"] not in dump and token["refresh_token"] not in dump


def test_a_token_without_refresh_and_person(store, engine):
    token = _issue(store, _token(refresh=False))
    found = store.find_token(token["access_token"], "access_token")
    assert found.person_id is None and found.refresh_expires_at is None and found.refresh_expired()
    assert found.person is None


def test_a_token_of_a_disabled_person_is_found_without_its_person(store, engine):
    person_id = _person(engine, disabled=True)
    token = _issue(store, _token(person_id))
    for kind in ("access_token", "refresh_token"):
        found = store.find_token(token[kind], kind)
        assert found is not None and found.person_id == person_id and found.person is None


def test_issuing_writes_one_audit_record_with_the_token(store, engine):
    before = _issued_events(engine)
    _issue(store, _token(_person(engine)))
    assert _issued_events(engine) == before + 1


def test_issuing_claims_the_code_once(store, engine):
    person_id = _person(engine)
    new = _code(person_id)
    store.save_code(new)
    code_id = store.find_code(new["code"], "client-a").id
    _issue(store, _token(person_id, code_id=code_id), code_id=code_id)
    assert store.find_code(new["code"], "client-a").used_at is not None
    before = _issued_events(engine)
    second = _token(person_id, code_id=code_id)
    with pytest.raises(AlreadyClaimed):
        _issue(store, second, code_id=code_id)
    assert store.find_token(second["access_token"], "access_token") is None, "nothing of the loser is stored"
    assert _issued_events(engine) == before


def test_issuing_claims_the_refresh_token_once(store, engine):
    person_id = _person(engine)
    first = _issue(store, _token(person_id))
    old = store.find_token(first["refresh_token"], "refresh_token")
    rotated = _issue(store, _token(person_id, family_id=old.family_id), refresh_id=old.id)
    assert store.find_token(first["refresh_token"], "refresh_token").refresh_used is True
    assert store.find_token(rotated["refresh_token"], "refresh_token").family_id == old.family_id
    before = _issued_events(engine)
    again = _token(person_id, family_id=old.family_id)
    with pytest.raises(AlreadyClaimed):
        _issue(store, again, refresh_id=old.id)
    assert store.find_token(again["access_token"], "access_token") is None
    assert _issued_events(engine) == before


def test_a_revoked_refresh_token_cannot_be_claimed(store, engine):
    first = _issue(store, _token(_person(engine)))
    old = store.find_token(first["refresh_token"], "refresh_token")
    store.revoke_grant(family_id=old.family_id)
    with pytest.raises(AlreadyClaimed):
        _issue(store, _token(family_id=old.family_id), refresh_id=old.id)
    assert store.find_token(first["refresh_token"], "refresh_token").refresh_used is False


@pytest.mark.parametrize("claim", ["code", "refresh"])
def test_a_failure_after_the_claim_undoes_the_claim(store, engine, claim):
    """All or nothing: when writing the new token fails (here: its access token hash is taken), the
    claimed code or refresh token is as it was and no audit record is written."""
    person_id = _person(engine)
    existing = _issue(store, _token(person_id))
    if claim == "code":
        new = _code(person_id)
        store.save_code(new)
        claims = {"code_id": store.find_code(new["code"], "client-a").id}
    else:
        claims = {"refresh_id": store.find_token(existing["refresh_token"], "refresh_token").id}
    before = _issued_events(engine)
    with pytest.raises(IntegrityError):
        _issue(store, _token(person_id, access_token=existing["access_token"]), **claims)
    assert _issued_events(engine) == before
    if claim == "code":
        assert store.find_code(new["code"], "client-a").used_at is None
    else:
        assert store.find_token(existing["refresh_token"], "refresh_token").refresh_used is False
    retried = _issue(store, _token(person_id), **claims)  # the client's retry
    assert store.find_token(retried["access_token"], "access_token") is not None


@pytest.mark.parametrize("claim", ["code", "refresh"])
def test_concurrent_claims_have_exactly_one_winner(store, session, engine, claim):
    person_id = _person(engine)
    if claim == "code":
        new = _code(person_id)
        store.save_code(new)
        claims = {"code_id": store.find_code(new["code"], "client-a").id}
    else:
        first = _issue(store, _token(person_id))
        claims = {"refresh_id": store.find_token(first["refresh_token"], "refresh_token").id}
    session.remove()
    before = _issued_events(engine)

    def attempt():
        token = _token(person_id)
        try:
            _issue(store, token, **claims)
        except AlreadyClaimed:
            return None
        return token

    winners = [token for token in run_concurrently(attempt, session) if token is not None]
    assert len(winners) == 1
    assert _issued_events(engine) == before + 1
    assert store.find_token(winners[0]["access_token"], "access_token") is not None


# --- revoking ---------------------------------------------------------------------------------
@pytest.mark.parametrize("by", ["family_id", "code_id", "sid"])
def test_revoking_a_grant_revokes_exactly_its_tokens(store, engine, by):
    person_id = _person(engine)
    family, sid, code_id = secrets.token_hex(8), secrets.token_hex(8), 10_000 + secrets.randbelow(10**6)
    grant = [_issue(store, _token(person_id, family_id=family, code_id=code_id, sid=sid)) for _ in range(3)]
    other = _issue(store, _token(person_id))
    assert store.revoke_grant(**{by: {"family_id": family, "code_id": code_id, "sid": sid}[by]}) == 3
    for token in grant:
        found = store.find_token(token["refresh_token"], "refresh_token")
        assert found.revoked and found.is_revoked()
    assert not store.find_token(other["access_token"], "access_token").is_revoked()
    assert store.revoke_grant(family_id=family) == 0, "already revoked"


def test_revoking_a_client_revokes_exactly_its_tokens_and_spends_its_codes(store, engine):
    person_id = _person(engine)
    client, other = f"client-{secrets.token_hex(4)}", f"client-{secrets.token_hex(4)}"  # the database is shared
    mine = [_issue(store, _token(person_id, client_id=client)) for _ in range(2)]
    mine.append(_issue(store, _token(None, client_id=client, refresh=False)))  # client_credentials
    theirs = _issue(store, _token(person_id, client_id=other))
    my_code, their_code = _code(person_id, client), _code(person_id, other)
    store.save_code(my_code)
    store.save_code(their_code)
    assert store.revoke_client(client) == 3
    for token in mine:
        assert store.find_token(token["access_token"], "access_token").is_revoked()
    assert store.find_code(my_code["code"], client).used_at is not None
    assert not store.find_token(theirs["access_token"], "access_token").is_revoked()
    assert store.find_code(their_code["code"], other).used_at is None
    assert store.revoke_client(client) == 0, "already revoked"
    assert store.revoke_client("no-such-client") == 0


def test_revoking_an_enterprise_context_revokes_exactly_its_tokens(store, engine):
    person_id, other_person = _person(engine), _person(engine)
    acting = [_issue(store, {**_token(person_id, client_id=c), "entity_id": 7}) for c in ("client-a", "client-b")]
    unaffected = [_issue(store, _token(person_id)), _issue(store, {**_token(person_id), "entity_id": 8}),
                  _issue(store, {**_token(other_person), "entity_id": 7})]
    assert store.revoke_acting(person_id=person_id, entity_id=7) == 2
    assert all(store.find_token(t["refresh_token"], "refresh_token").revoked for t in acting)
    assert not any(store.find_token(t["refresh_token"], "refresh_token").revoked for t in unaffected)
    assert store.revoke_acting(person_id=person_id, entity_id=7) == 0, "already revoked"


def test_revoke_grant_takes_exactly_one_selector(store):
    with pytest.raises(ValueError):
        store.revoke_grant()
    with pytest.raises(ValueError):
        store.revoke_grant(family_id="a", sid="b")


def test_revoking_an_access_token_leaves_its_refresh_token(store, engine):
    token = _issue(store, _token(_person(engine)))
    store.revoke_access(store.find_token(token["access_token"], "access_token").id)
    found = store.find_token(token["refresh_token"], "refresh_token")
    assert found.access_revoked and found.is_revoked() and not found.revoked
    rotated = _issue(store, _token(family_id=found.family_id), refresh_id=found.id)
    assert not store.find_token(rotated["access_token"], "access_token").is_revoked()


def test_an_expired_access_token_says_so(store, engine):
    token = _issue(store, _token(_person(engine)))
    with engine.begin() as conn:
        conn.execute(update(Token.__table__).where(Token.__table__.c.family_id == token["family_id"])
                     .values(access_expires_at=time.time() - 1, refresh_expires_at=time.time() - 1))
    found = store.find_token(token["access_token"], "access_token")
    assert found.is_expired() and found.refresh_expired()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["rotate", "fail_after_claim", "replay_spent"]), min_size=1, max_size=8))
def test_any_sequence_of_rotations_failures_and_replays_keeps_one_valid_refresh_token(store, engine, steps):
    """Whatever happens to a refresh chain (rotations, rotations that fail after the claim, replays of
    spent tokens), exactly the newest committed refresh token is unspent, and each committed rotation
    has its audit record."""
    person_id = _person(engine)
    current = _issue(store, _token(person_id))
    family = current["family_id"]
    spent = []
    before = _issued_events(engine)
    for step in steps:
        stored = store.find_token(current["refresh_token"], "refresh_token")
        if step == "rotate":
            current = _issue(store, _token(person_id, family_id=family), refresh_id=stored.id)
            spent.append(stored)
        elif step == "fail_after_claim":  # the new row cannot be written: all of it is undone
            with pytest.raises(IntegrityError):
                _issue(store, _token(person_id, family_id=family, access_token=current["access_token"]),
                       refresh_id=stored.id)
        elif spent:
            with pytest.raises(AlreadyClaimed):
                _issue(store, _token(person_id, family_id=family), refresh_id=spent[-1].id)
    assert store.find_token(current["refresh_token"], "refresh_token").refresh_used is False
    for old in spent:
        with engine.connect() as conn:
            used = conn.scalar(select(Token.__table__.c.refresh_used).where(Token.__table__.c.id == old.id))
        assert used is True
    assert _issued_events(engine) == before + steps.count("rotate")
