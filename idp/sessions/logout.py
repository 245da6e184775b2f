"""Ending an SSO session everywhere: each protocol that handed the session to a site (OIDC back-channel
logout, CAS single logout, …) registered a listener in ``core.logout_listeners``; all of them hear of
every ended session, and one that fails does not keep the others from hearing.

A site that can only be told through the browser (a SAML SP with an HTTP-Redirect logout endpoint and
no SOAP one) gets a front-channel URL from its listener (``add_front_channel_logout``); the logged-out
page of that request loads each in a hidden frame. The page does not wait for them: the session has
already ended here, and a site that does not answer only leaves its frame empty."""
from __future__ import annotations

import logging

from flask import g, has_request_context

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


def add_front_channel_logout(url: str) -> None:
    """A URL the browser logging out should load in a frame (kept for this request's logged-out page)."""
    if has_request_context():
        g.setdefault("front_channel_logouts", []).append(url)


def front_channel_logouts() -> list[str]:
    return list(g.get("front_channel_logouts") or []) if has_request_context() else []
