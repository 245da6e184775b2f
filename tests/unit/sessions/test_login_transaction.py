"""The login transaction: one type saved, loaded and consumed through the ephemeral store, answered by
the protocol that started it when the person cancels."""
from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import given, settings, strategies as st

from idp.sessions.login_transaction import CONSENT, LOGIN, STEP_UP, NAMESPACE, LoginTransactions
from idp.storage.memory import MemoryStore


@pytest.fixture
def logins(clock):
    return LoginTransactions(MemoryStore(clock=clock), ttl=600)


@pytest.fixture
def app():
    app = Flask(__name__)
    app.add_url_rule("/authorize/resume", "oidc.authorize_resume", lambda: "")
    with app.test_request_context():
        yield app


def _start(logins, **extra):
    fields = dict(protocol="oidc", reason=LOGIN, resume_endpoint="oidc.authorize_resume", client_name="Portal A",
                  client_id="portal-a", return_to="https://a.example/cb", acr_values=["urn:idp:loa:3"],
                  state={"params": {"client_id": "portal-a", "state": "xyz"}, "uri": "https://idp/authorize?x"})
    fields.update(extra)
    return logins.start(**fields)


def test_a_started_transaction_loads_with_every_field(logins, app):
    tx = _start(logins, reason=STEP_UP)
    loaded = logins.load(tx.id)
    assert loaded == tx
    assert loaded.step_up and loaded.client_name == "Portal A" and loaded.state["params"]["state"] == "xyz"
    assert loaded.resume_url == f"/authorize/resume?tx={tx.id}"


def test_ids_are_unguessable_and_distinct(logins):
    ids = {_start(logins).id for _ in range(200)}
    assert len(ids) == 200 and all(len(i) >= 32 for i in ids)


def test_consume_ends_it_for_every_later_request(logins):
    tx = _start(logins)
    assert logins.consume(tx.id) == tx
    assert logins.consume(tx.id) is None and logins.load(tx.id) is None


def test_saved_changes_are_seen_by_the_next_request(logins):
    tx = _start(logins, reason=CONSENT)
    tx.state["consented"] = True
    logins.save(tx)
    assert logins.load(tx.id).state["consented"] is True


def test_it_expires(logins, clock):
    tx = _start(logins)
    clock.now += 599
    assert logins.load(tx.id) is not None
    clock.now += 2
    assert logins.load(tx.id) is None


def test_delete(logins):
    tx = _start(logins)
    logins.delete(tx.id)
    assert logins.load(tx.id) is None


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.integers(), st.text(max_size=300), st.lists(st.text(max_size=5))))
def test_any_id_from_a_request_is_answered_without_error(tx_id):
    logins = LoginTransactions(MemoryStore())
    assert logins.load(tx_id) is None
    assert logins.consume(tx_id) is None
    if isinstance(tx_id, str):
        logins.delete(tx_id)


def test_a_record_of_another_shape_is_no_transaction(logins):
    """A record written by a version with other fields (or by anything else) is treated as expired."""
    logins.store.put(NAMESPACE, "old", {"params": {}, "uri": "/authorize", "created_at": 1.0}, 60)
    assert logins.load("old") is None and logins.consume("old") is None


def test_login_since_start(logins, clock):
    tx = _start(logins)
    assert not tx.login_since_start(tx.created_at - 1)
    assert tx.login_since_start(tx.created_at) and tx.login_since_start(tx.created_at + 30)


def test_cancel_is_answered_by_the_protocol_that_started_it(logins):
    answered = []
    logins.on_cancel("oidc", lambda tx: answered.append(("oidc", tx.id)) or "denied")
    oidc_tx, cas_tx = _start(logins), _start(logins, protocol="cas")
    assert logins.cancel(oidc_tx) == "denied" and answered == [("oidc", oidc_tx.id)]
    assert logins.cancel(cas_tx) is None  # no handler: the page shows the account instead
