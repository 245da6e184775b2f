"""Remembered consent to a third-party client, on SQLite and PostgreSQL: what was granted covers later
requests for the same or fewer scopes, grants add up, and grants made at the same moment (a double
submit, two tabs) all succeed and are all kept."""
from __future__ import annotations

import secrets
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.extensions import db
from idp.protocols.oidc.consent import grant_consent, has_consent
from idp.protocols.oidc.models import Consent

pytestmark = pytest.mark.every_backend("sqlite", "postgres")

SCOPES = ("openid", "profile", "email", "phone", "idcard", "address")
scope_sets = st.lists(st.sampled_from(SCOPES), unique=True, max_size=len(SCOPES))


@pytest.fixture
def person_id(app, citizen):
    from idp.identity.models import Person
    with app.app_context():
        return db.session.scalar(db.select(Person.id).where(Person.public_id == citizen))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grants=st.lists(scope_sets, max_size=4), asked=scope_sets)
def test_consent_covers_exactly_the_scopes_granted_so_far(app, person_id, grants, asked):
    client_id = "client-" + secrets.token_hex(6)  # a client of this example's own
    with app.app_context():
        for granted in grants:
            grant_consent(person_id, client_id, " ".join(granted))
        ever = set().union(*grants) if grants else set()
        assert has_consent(person_id, client_id, " ".join(asked)) is (bool(grants) and set(asked) <= ever)
        assert not has_consent(person_id, "another-" + client_id, " ".join(asked))
        rows = db.session.scalars(db.select(Consent).where(Consent.client_id == client_id)).all()
        assert len(rows) == (1 if grants else 0)


def test_grants_at_the_same_moment_all_succeed_and_all_are_kept(app, person_id):
    racers = 6
    scopes = ["openid profile", "openid email", "openid phone", "idcard", "address", "openid profile email"]
    for round_ in range(3):  # the first grant (two inserts meet) and later ones (two changes meet)
        client_id = f"third-party-{round_}"
        if round_:
            with app.app_context():
                grant_consent(person_id, client_id, "openid")
        barrier = threading.Barrier(racers, timeout=30)
        errors = []

        def grant(scope):
            try:
                with app.app_context():
                    barrier.wait()
                    grant_consent(person_id, client_id, scope)
            except Exception as exc:  # the assertion below shows it
                errors.append(exc)

        threads = [threading.Thread(target=grant, args=(scope,)) for scope in scopes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        with app.app_context():
            [row] = db.session.scalars(db.select(Consent).where(Consent.client_id == client_id)).all()
            assert set(row.scope.split()) == {"openid", "profile", "email", "phone", "idcard", "address"}
