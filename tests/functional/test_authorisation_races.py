"""An authorisation answered from two sides at once: the representative revokes it while the agent accepts
it, or two revocations cross. The revocation always stands; the loser is refused, never a server error.

The interleaving is forced (the competing change commits right after the other request read the record),
so the tests do not depend on thread timing; the threaded test checks the same on every backend."""
from __future__ import annotations

import threading

import pytest

from helpers import CITIZEN_ID, CITIZEN_PASSWORD, audit_events, csrf_token
from test_enterprise_agents import (AGENT_ID, AGENT_PASSWORD, _account, _authorisation_ids, _grant,  # noqa: F401
                                    _log_in, realm)

pytestmark = pytest.mark.every_backend


def _pending(app):
    representative = _log_in(app, CITIZEN_ID, CITIZEN_PASSWORD, certificate_level=True)
    assert _grant(app, representative).status_code == 302
    [authorisation_id] = _authorisation_ids(app)
    return representative, _log_in(app, AGENT_ID, AGENT_PASSWORD), authorisation_id


def _status(app, public_id):
    from idp.identity import authorisations
    with app.app_context():
        return authorisations.find(public_id).status


def _post(browser, path):
    return browser.client.post(path, data={"csrf_token": csrf_token(_account(browser))})


def _after_the_read(monkeypatch, app, competing):
    """Make the next authorisations.find return its record, then let ``competing`` commit (in another
    thread, with its own connection) before the caller goes on with what it read."""
    from idp.identity import authorisations
    real_find, done = authorisations.find, []

    def find(public_id):
        found = real_find(public_id)
        if not done:
            done.append(True)
            worker = threading.Thread(target=lambda: done.append(competing()))
            worker.start()
            worker.join(30)
        return found

    monkeypatch.setattr(authorisations, "find", find)
    return done


def test_a_revocation_that_lands_while_the_agent_accepts_stands(app, realm, monkeypatch):
    representative, agent, public_id = _pending(app)
    revoke_page = csrf_token(_account(representative))
    done = _after_the_read(monkeypatch, app, lambda: representative.client.post(
        f"/account/authorisations/{public_id}/revoke", data={"csrf_token": revoke_page}).status_code)
    accepted = _post(agent, f"/account/authorisations/{public_id}/accept")
    assert done[1] == 302  # the revocation went through
    assert accepted.status_code == 404
    assert _status(app, public_id) == "revoked"
    assert [event for event, _ in audit_events(app, "authorisation.")] == ["authorisation.granted",
                                                                          "authorisation.revoked"]


def test_two_revocations_that_cross_are_one_revocation(app, realm, monkeypatch):
    representative, agent, public_id = _pending(app)
    agent_page = csrf_token(_account(agent))
    done = _after_the_read(monkeypatch, app, lambda: agent.client.post(
        f"/account/authorisations/{public_id}/revoke", data={"csrf_token": agent_page}).status_code)
    second = _post(representative, f"/account/authorisations/{public_id}/revoke")
    assert sorted([done[1], second.status_code]) == [302, 404]
    assert _status(app, public_id) == "revoked"
    assert len(audit_events(app, "authorisation.revoked")) == 1
