"""Ending an SSO session everywhere: each protocol that handed the session to a site (OIDC back-channel
logout, CAS single logout, …) registered a listener in ``core.logout_listeners``; all of them hear of
every ended session, and one that fails does not keep the others from hearing."""
from __future__ import annotations

import logging

from ..extensions import db
from ..identity.models import Person
from .sso import SsoSession

log = logging.getLogger(__name__)


def end_session_everywhere(core, session: SsoSession, reason: str = "logout") -> SsoSession | None:
    ended = core.sessions.end(session)
    if ended is None:
        return None
    for listener in core.logout_listeners:
        try:
            listener(ended)
        except Exception:  # noqa: BLE001 - the other protocols' sites must still be told
            db.session.rollback()
            log.exception("logout listener %s failed for session %s", getattr(listener, "__qualname__", listener),
                          ended.sid)
    person = db.session.get(Person, ended.person_id)
    core.audit("logout", person=person.public_id if person else None, reason=reason,
               clients=sorted(ended.clients))
    return ended
