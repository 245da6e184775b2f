"""Single logout: every protocol's listener hears of each ended session, whatever another one does."""
from __future__ import annotations

from sqlalchemy import select

from idp.authn.result import ACR_PASSWORD, AuthResult
from idp.sessions.logout import end_session_everywhere


def _session(app, citizen):
    from helpers import CITIZEN_ID
    from idp.identity.service import find_person_by_id_number
    core = app.extensions["idp"]
    person = find_person_by_id_number(CITIZEN_ID)
    _token, session = core.sessions.create(AuthResult(person_id=person.id, method="password", acr=ACR_PASSWORD,
                                                      amr=("pwd",)))
    core.sessions.add_client(session, "portal-a")
    return core, session


def test_each_protocol_registers_a_listener(app):
    names = {listener.__qualname__.split(".")[0] for listener in app.extensions["idp"].logout_listeners}
    assert names == {"oidc_logout_listener", "cas_logout_listener", "saml_logout_listener"}


def test_a_failing_listener_does_not_keep_the_others_from_hearing(app, citizen, caplog):
    heard = []

    def broken(ended):
        raise RuntimeError("site registry unavailable")

    with app.app_context():
        core, session = _session(app, citizen)
        core.logout_listeners[:0] = [broken]
        core.logout_listeners.append(heard.append)
        ended = end_session_everywhere(core, session, reason="test")
        assert ended is not None and [s.sid for s in heard] == [session.sid]
        assert set(heard[0].clients) == {"portal-a"}
        assert core.sessions.get(session.key) is None
        assert "site registry unavailable" in caplog.text

        from idp.audit.models import AuditEvent
        from idp.extensions import db
        events = db.session.scalars(select(AuditEvent.event)).all()
        assert "logout" in events

        # Ending it again tells nobody: the session is gone.
        heard.clear()
        assert end_session_everywhere(core, session) is None and heard == []
