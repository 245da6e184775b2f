"""Whatever the chain's length, its checkpoints, and which records are tampered with, `verify` names
the change: an edit, a deletion, two records swapped, the newest records dropped."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from helpers import app_on, dispose_app


@pytest.fixture(scope="module")
def chain_app(tmp_path_factory):
    app = app_on(tmp_path_factory.mktemp("tamper"), "sqlite")
    yield app
    dispose_app(app)


def _build(app, length: int, batches: list[int]):
    """A fresh chain of ``length`` records, sealed in batches (one checkpoint each)."""
    from idp.audit.log import record
    from idp.audit.sealing import seal_pending
    from idp.extensions import db
    db.session.execute(text("DELETE FROM audit_events"))
    db.session.execute(text("DELETE FROM audit_checkpoints"))
    db.session.commit()
    key = app.extensions["idp"].keys.signing_key("ES256")
    written = 0
    for size in [*batches, length]:
        size = min(size, length - written)
        for n in range(written, written + size):
            record("test.event", n=n)
        written += size
        seal_pending(db.engine, key)
        if written == length:
            return


def _sql(statement, **params):
    from idp.extensions import db
    db.session.execute(text(statement), params)
    db.session.commit()


def _problems():
    from idp.audit.log import verify
    return verify()[1]


tampering = st.sampled_from(["edit", "delete", "swap", "drop"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=st.integers(2, 12), batches=st.lists(st.integers(1, 5), max_size=3), how=tampering,
       data=st.data())
def test_every_kind_of_tampering_is_named(chain_app, length, batches, how, data):
    with chain_app.app_context():
        _build(chain_app, length, batches)
        assert _problems() == []
        if how == "edit":
            seq = data.draw(st.integers(1, length), "seq")
            _sql("UPDATE audit_events SET data = :d WHERE seq = :s", d=json.dumps({"n": -1}), s=seq)
            assert f"record seq {seq} was modified" in _problems()
        elif how == "delete":
            seq = data.draw(st.integers(1, length - 1), "seq")
            _sql("DELETE FROM audit_events WHERE seq = :s", s=seq)
            assert f"record seq {seq} is missing (next is {seq + 1})" in _problems()
        elif how == "swap":
            seq = data.draw(st.integers(1, length - 1), "seq")
            _sql("UPDATE audit_events SET seq = -1 WHERE seq = :s", s=seq)
            _sql("UPDATE audit_events SET seq = :s WHERE seq = :t", s=seq, t=seq + 1)
            _sql("UPDATE audit_events SET seq = :t WHERE seq = -1", t=seq + 1)
            problems = _problems()
            assert f"record seq {seq} was sealed at seq {seq + 1}: the records were reordered" in problems
            assert f"record seq {seq + 1} was sealed at seq {seq}: the records were reordered" in problems
        else:
            dropped = data.draw(st.integers(1, length - 1), "dropped")
            first = length - dropped + 1
            _sql("DELETE FROM audit_events WHERE seq >= :s", s=first)
            span = f"record seq {first} is" if dropped == 1 else f"records seq {first} to {length} are"
            assert f"{span} missing: the chain reached seq {length} when it was signed at" in "\n".join(_problems())
